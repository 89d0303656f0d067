// Discovers the router's gRPC API through server reflection with grpc-js-reflection-client and
// @grpc/grpc-js, knowing nothing of baton's .proto files (calls.mjs explains the spec and the
// output). Spec: {"target": "127.0.0.1:PORT", "api_key": "...", "calls": [
//   {"api": "services"}                                  -> [service names]
//   {"api": "methods", "service": "baton.v1.Inference"}  -> [method names]
//   {"api": "unary", "service": ..., "method": ..., "request": {...}} -> the response, made with
//                                                          the descriptor reflection returned]}.
import * as grpc from '@grpc/grpc-js';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { runCalls } from './calls.mjs';

function metadataOf(spec) {
  const metadata = new grpc.Metadata();
  if (spec.api_key) metadata.set('authorization', `Bearer ${spec.api_key}`);
  return metadata;
}

// The package object's service constructor for "a.b.Service".
function serviceConstructor(packageObject, service) {
  return service.split('.').reduce((node, name) => node[name], packageObject);
}

async function unary(context, call) {
  const descriptor = await context.reflection.getDescriptorBySymbol(call.service);
  const packageObject = descriptor.getPackageObject({
    keepCase: true,
    enums: String,
    defaults: true,
  });
  const Service = serviceConstructor(packageObject, call.service);
  const client = new Service(context.spec.target, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      client[call.method](call.request ?? {}, metadataOf(context.spec), (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  } finally {
    client.close();
  }
}

async function runCall(context, call) {
  switch (call.api) {
    case 'services':
      return context.reflection.listServices();
    case 'methods':
      return (await context.reflection.listMethods(call.service)).map((method) => method.name);
    case 'unary':
      return unary(context, call);
    default:
      throw new Error(`unknown api ${call.api}`);
  }
}

const statusName = (code) => Object.keys(grpc.status).find((name) => grpc.status[name] === code);

runCalls(
  (spec) => ({
    spec,
    reflection: new GrpcReflection(spec.target, grpc.credentials.createInsecure()),
  }),
  runCall,
  (e) =>
    typeof e.code === 'number' ? { code: statusName(e.code), message: e.details } : undefined,
  // The reflection client keeps its channel open; the results are out, so end here.
).then(() => process.exit(0));
