// Starts a real gRPC server and checks the health service and server reflection over the wire.
#include "common/grpc_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"

namespace baton::common {
namespace {

using ::testing::HasSubstr;

// Calls a unary method with a raw serialized request through the generic stub.
grpc::Status CallRaw(grpc::Channel* channel, const std::string& method, const std::string& request,
                     std::string* response) {
  grpc::GenericStub stub(channel->shared_from_this());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::Status result;
  bool done = false;
  std::mutex mu;
  std::condition_variable cv;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    result = s;
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  std::vector<grpc::Slice> slices;
  if (result.ok() && out.Dump(&slices).ok()) {
    for (const auto& s : slices) response->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return result;
}

TEST(GrpcServerTest, ServesHealthAndReflection) {
  ASSERT_OK_AND_ASSIGN(StartedGrpcServer started, StartGrpcServer(GrpcServerOptions{}, {}));
  ASSERT_GT(started.port, 0);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", started.port),
                                     grpc::InsecureChannelCredentials());

  // HealthCheckRequest{service: ""} is the empty message; SERVING is status = 1 (bytes 08 01).
  std::string response;
  grpc::Status status = CallRaw(channel.get(), "/grpc.health.v1.Health/Check", "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response, std::string("\x08\x01", 2));

  SetServing(*started.server, false);
  response.clear();
  status = CallRaw(channel.get(), "/grpc.health.v1.Health/Check", "", &response);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(response, std::string("\x08\x02", 2));  // NOT_SERVING

  // Reflection: ServerReflectionRequest{list_services: ""} over the bidi stream.
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&context,
                               "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                               &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Slice request(std::string("\x3a\x00", 2));
  grpc::ByteBuffer out(&request, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(in.Dump(&slices).ok());
  std::string listed;
  for (const auto& s : slices) listed.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(listed, HasSubstr("grpc.health.v1.Health"));
  context.TryCancel();
  call->Finish(&status, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  started.server->Shutdown();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(GrpcServerTest, BusyPortIsUnavailable) {
  ASSERT_OK_AND_ASSIGN(StartedGrpcServer first, StartGrpcServer(GrpcServerOptions{}, {}));
  GrpcServerOptions same;
  same.port = first.port;
  EXPECT_THAT(StartGrpcServer(same, {}), ::baton::testing::StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace baton::common
