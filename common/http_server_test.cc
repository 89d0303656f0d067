#include "common/http_server.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "common/status_matchers.h"
#include "common/testing/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace baton::common {
namespace {

using ::baton::testing::HttpCall;
using ::baton::testing::RawExchange;
using ::testing::HasSubstr;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.max_body_bytes = 1024;
    ASSERT_OK_AND_ASSIGN(server_, HttpServer::Create(options));
    server_->Handle("/echo", [](const HttpRequest& request, HttpResponseWriter& writer) {
      writer.AddHeader("X-Method", request.method);
      writer.Send(200, "text/plain", request.body + "|" + request.query);
    });
    server_->Handle("/stream", [](const HttpRequest&, HttpResponseWriter& writer) {
      ASSERT_TRUE(writer.StartStream(200, "text/event-stream"));
      for (int i = 0; i < 3; ++i) writer.Write("data: " + std::to_string(i) + "\n\n");
      writer.Finish();
    });
    server_->Handle("/silent", [](const HttpRequest&, HttpResponseWriter&) {});
    server_->HandlePrefix("/v1/", [](const HttpRequest& request, HttpResponseWriter& writer) {
      writer.Send(200, "text/plain", "prefix:" + request.path);
    });
    ASSERT_OK(server_->Start());
    ASSERT_GT(server_->port(), 0);
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, RoutesExactAndPrefixAnd404) {
  ASSERT_OK_AND_ASSIGN(auto echo, HttpCall(server_->port(), "POST", "/echo?x=1", "hello"));
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.body, "hello|x=1");
  EXPECT_EQ(echo.headers["x-method"], "POST");
  ASSERT_OK_AND_ASSIGN(auto prefixed, HttpCall(server_->port(), "GET", "/v1/models"));
  EXPECT_EQ(prefixed.body, "prefix:/v1/models");
  ASSERT_OK_AND_ASSIGN(auto missing, HttpCall(server_->port(), "GET", "/nope"));
  EXPECT_EQ(missing.status, 404);
}

TEST_F(HttpServerTest, StreamsChunks) {
  ASSERT_OK_AND_ASSIGN(auto result, HttpCall(server_->port(), "GET", "/stream"));
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.headers["transfer-encoding"], "chunked");
  EXPECT_EQ(result.body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

TEST_F(HttpServerTest, HandlerWithoutResponseGets500) {
  ASSERT_OK_AND_ASSIGN(auto result, HttpCall(server_->port(), "GET", "/silent"));
  EXPECT_EQ(result.status, 500);
}

TEST_F(HttpServerTest, MalformedRequestGets400AndServerSurvives) {
  ASSERT_OK_AND_ASSIGN(std::string reply, RawExchange(server_->port(), "NOT HTTP AT ALL\r\n\r\n"));
  EXPECT_THAT(reply, HasSubstr("400"));
  ASSERT_OK_AND_ASSIGN(auto echo, HttpCall(server_->port(), "POST", "/echo", "still up"));
  EXPECT_EQ(echo.status, 200);
}

TEST_F(HttpServerTest, OversizedBodyGets413) {
  ASSERT_OK_AND_ASSIGN(auto result,
                       HttpCall(server_->port(), "POST", "/echo", std::string(4096, 'x')));
  EXPECT_EQ(result.status, 413);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const std::string one = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string last = "GET /echo?last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_OK_AND_ASSIGN(std::string reply, RawExchange(server_->port(), one + one + last));
  int responses = 0;
  for (size_t pos = 0; (pos = reply.find("HTTP/1.1 200", pos)) != std::string::npos; ++pos) {
    ++responses;
  }
  EXPECT_EQ(responses, 3);
  EXPECT_THAT(reply, HasSubstr("|last"));
}

TEST_F(HttpServerTest, ConcurrentClients) {
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      auto result = HttpCall(server_->port(), "POST", "/echo", std::to_string(i));
      if (result.ok() && result->body == std::to_string(i) + "|") ok.fetch_add(1);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 16);
}

TEST_F(HttpServerTest, ShutdownIsIdempotentAndRefusesNewConnections) {
  const int port = server_->port();
  server_->Shutdown();
  server_->Shutdown();
  EXPECT_THAT(HttpCall(port, "GET", "/echo"),
              ::baton::testing::StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace baton::common
