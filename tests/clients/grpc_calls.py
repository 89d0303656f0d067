"""Drives the router's gRPC API (baton.v1.Inference) with Debian's python3-grpcio and stubs
generated from proto/baton/v1/inference.proto by the test at run time.

Usage: grpc_calls.py STUB_DIR SPEC, where SPEC is JSON:
  {"target": "127.0.0.1:PORT", "api_key": "...",
   "calls": [{"rpc": "Generate" | "ListModels" | "Tokenize", "request": {...}}]}
with each request in protobuf's JSON mapping. Prints one JSON array, one result per call:
  {"ok": ...} or {"error": {"code": "INVALID_ARGUMENT", "message": ...}}.
Generate's result folds the stream: text, token_ids, messages (how many), finish_reason (the
enum name), usage, and whether any message but the last set finish_reason or usage.
Any other failure (a bug here) raises and exits non-zero.
"""

import json
import sys

import grpc
from google.protobuf import json_format


def as_dict(message):
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, including_default_value_fields=True)


def generate(stub, pb2, request, metadata):
    result = {"text": "", "token_ids": [], "messages": 0, "early_final_fields": False}
    last = None
    for message in stub.Generate(request, metadata=metadata, timeout=120):
        if last is not None and (last.finish_reason or last.HasField("usage")):
            result["early_final_fields"] = True
        result["text"] += message.text_delta
        result["token_ids"].extend(message.token_ids)
        result["messages"] += 1
        last = message
    if last is not None:
        result["finish_reason"] = pb2.FinishReason.Name(last.finish_reason)
        result["usage"] = as_dict(last.usage)
        result["request_id"] = last.request_id
    return result


def main():
    stub_dir, spec = sys.argv[1], json.loads(sys.argv[2])
    sys.path.insert(0, stub_dir)
    from baton.v1 import inference_pb2 as pb2
    from baton.v1 import inference_pb2_grpc as pb2_grpc

    request_types = {"Generate": pb2.GenerateRequest, "ListModels": pb2.ListModelsRequest,
                     "Tokenize": pb2.TokenizeRequest}
    metadata = [("authorization", "Bearer " + spec["api_key"])] if spec.get("api_key") else None
    results = []
    with grpc.insecure_channel(spec["target"]) as channel:
        stub = pb2_grpc.InferenceStub(channel)
        for call in spec["calls"]:
            request = json_format.ParseDict(call.get("request", {}), request_types[call["rpc"]]())
            try:
                if call["rpc"] == "Generate":
                    ok = generate(stub, pb2, request, metadata)
                else:
                    ok = as_dict(getattr(stub, call["rpc"])(request, metadata=metadata, timeout=30))
                results.append({"ok": ok})
            except grpc.RpcError as e:
                results.append({"error": {"code": e.code().name, "message": e.details()}})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
