// nanum-oracle's HTTP side over a real socket: the IEEE 2030.5 Metering Mirror, plug JSON,
// refusals with their reasons, metrics; readings signed into the queue. No node runs here
// (the flusher finds none and keeps everything queued).
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <gtest/gtest.h>

#include "ledger/transaction.h"
#include "meter_oracle/oracle.h"
#include "meter_oracle/server.h"

namespace nanum::oracle {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr std::uint64_t kSlot = 60'000;
constexpr std::uint64_t kT0 = 1'800'000'000'000;
constexpr const char* kMrid = "0600006CC8000000000000000000A0B1";

struct Response {
  unsigned status = 0;
  std::string body, location, type;
};

Response Request(int port, http::verb verb, const std::string& path, const std::string& body = "",
                 const std::string& type = "application/sep+xml") {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> req(verb, path, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) req.set(http::field::content_type, type);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  beast::error_code ec;
  http::read(stream, buf, res, ec);
  return {res.result_int(), res.body(), std::string(res[http::field::location]), std::string(res[http::field::content_type])};
}

std::string UsagePoint(const std::string& mrid) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<MirrorUsagePoint xmlns="urn:ieee:std:2030.5:ns">
  <mRID>)" + mrid + R"(</mRID>
  <description>Unit 204 meter</description>
  <roleFlags>13</roleFlags>
  <serviceCategoryKind>0</serviceCategoryKind>
  <status>1</status>
  <deviceLFDI>247bd68e3378fe57ba604e3c8bdf9e3f78a3d743</deviceLFDI>
  <MirrorMeterReading>
    <mRID>imp</mRID>
    <ReadingType><accumulationBehaviour>9</accumulationBehaviour><flowDirection>1</flowDirection>
      <powerOfTenMultiplier>-1</powerOfTenMultiplier><uom>72</uom></ReadingType>
  </MirrorMeterReading>
  <MirrorMeterReading>
    <mRID>v</mRID>
    <ReadingType><accumulationBehaviour>12</accumulationBehaviour><powerOfTenMultiplier>-1</powerOfTenMultiplier>
      <uom>29</uom></ReadingType>
  </MirrorMeterReading>
</MirrorUsagePoint>)";
}

// Import register in tenths of a Wh (powerOfTenMultiplier -1) and voltage in tenths of a volt.
std::string Readings(std::uint64_t t_s, long imp_tenths, long v_tenths) {
  const std::string t = std::to_string(t_s);
  return R"(<MirrorMeterReadingList xmlns="urn:ieee:std:2030.5:ns" all="2" results="2">
  <MirrorMeterReading><mRID>imp</mRID>
    <Reading><timePeriod><duration>0</duration><start>)" + t + "</start></timePeriod><value>" + std::to_string(imp_tenths) +
         R"(</value></Reading></MirrorMeterReading>
  <MirrorMeterReading><mRID>v</mRID>
    <Reading><timePeriod><duration>0</duration><start>)" + t + "</start></timePeriod><value>" + std::to_string(v_tenths) +
         R"(</value></Reading></MirrorMeterReading>
</MirrorMeterReadingList>)";
}

class OracleServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nanum-oracle-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    key_ = PrivateKey::Generate();
    OracleOptions o;
    o.config.data_dir = dir_.string();
    o.config.node = "127.0.0.1:1";  // nobody listens: readings stay queued
    o.config.max_backoff_ms = 200;
    o.config.meters = {{"m-a", kMrid, Flow::kImport}, {"m-b", "kitchen-plug", Flow::kImport},
                       {"m-c", "pow-r2", Flow::kImport}};
    o.key = key_;
    o.chain_id = "test-1";
    o.slot_ms = kSlot;
    o.clock = [this] { return now_.load(); };
    ASSERT_TRUE(Oracle::Open(std::move(o), &oracle_).ok());
    oracle_->Start();
    ASSERT_TRUE(Server::Start("127.0.0.1:0", oracle_.get(), &server_).ok());
    port_ = server_->port();
  }
  void TearDown() override {
    server_.reset();
    oracle_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  PrivateKey key_;
  std::atomic<std::uint64_t> now_{kT0 + 1000};
  std::unique_ptr<Oracle> oracle_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
};

TEST_F(OracleServerTest, MirrorUsagePointRegistration) {
  Response r = Request(port_, http::verb::get, "/dcap");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.type, "application/sep+xml");
  EXPECT_NE(r.body.find("<MirrorUsagePointListLink href=\"/mup\""), std::string::npos);

  r = Request(port_, http::verb::post, "/mup", UsagePoint(kMrid));
  EXPECT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(r.location, "/mup/1");
  r = Request(port_, http::verb::post, "/mup", UsagePoint(kMrid));  // the same mRID again
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(r.location, "/mup/1");
  r = Request(port_, http::verb::get, "/mup");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("all=\"1\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(kMrid), std::string::npos);
  EXPECT_EQ(Request(port_, http::verb::get, "/mup/1").status, 200u);
  EXPECT_EQ(Request(port_, http::verb::get, "/mup/9").status, 404u);
  EXPECT_EQ(Request(port_, http::verb::post, "/mup/9", Readings(kT0 / 1000, 1, 2300)).status, 404u);
  EXPECT_EQ(Request(port_, http::verb::delete_, "/mup").status, 405u);
}

TEST_F(OracleServerTest, BadRequestsGet400WithTheReason) {
  ASSERT_EQ(Request(port_, http::verb::post, "/mup", UsagePoint(kMrid)).status, 201u);
  const std::tuple<std::string, std::string, std::string, const char*> cases[] = {
      {"/mup", UsagePoint("FFFF"), "application/sep+xml", "unknown device"},
      {"/mup", UsagePoint(kMrid), "text/plain", "Content-Type must be application/sep+xml"},
      {"/mup", "<MirrorUsagePoint xmlns='urn:ieee:std:2030.5:ns'><mRID>x</mRID>", "application/sep+xml", "XML: unclosed"},
      {"/mup/1", UsagePoint(kMrid), "application/sep+xml", "not <MirrorUsagePoint>"},
      {"/mup/1", "<MirrorMeterReading xmlns='urn:ieee:std:2030.5:ns'><mRID>zzz</mRID><Reading><value>1</value>"
                 "</Reading></MirrorMeterReading>", "application/sep+xml", "not registered"},
      {"/zigbee2mqtt/unknown-plug", R"({"power":1})", "application/json", "unknown device unknown-plug"},
      {"/zigbee2mqtt/kitchen-plug", R"({"power":)", "application/json", "malformed JSON"},
      {"/tasmota/pow-r2", R"({"ENERGY":{"Power":"x"}})", "application/json", "Power is not a number"},
  };
  for (const auto& [path, body, type, why] : cases) {
    const Response r = Request(port_, http::verb::post, path, body, type);
    EXPECT_EQ(r.status, 400u) << path << " " << why;
    EXPECT_NE(r.body.find(why), std::string::npos) << path << ": " << r.body;
  }
  // Over 64 KiB.
  const Response big = Request(port_, http::verb::post, "/mup", std::string(70'000, ' ') + UsagePoint(kMrid));
  EXPECT_EQ(big.status, 413u);
  // Nothing was taken in; each refusal was counted.
  const OracleCounters c = oracle_->counters();
  EXPECT_EQ(c.samples_accepted, 0u);
  EXPECT_EQ(c.messages_rejected.at("unknown_device"), 2u);
  EXPECT_EQ(c.messages_rejected.at("malformed"), 2u);
  const Response m = Request(port_, http::verb::get, "/metrics");
  EXPECT_NE(m.body.find("nanum_oracle_messages_rejected_total{reason=\"unknown_device\"} 2"), std::string::npos) << m.body;
}

TEST_F(OracleServerTest, MirroredReadingsBecomeSignedSlotReadings) {
  ASSERT_EQ(Request(port_, http::verb::post, "/mup", UsagePoint(kMrid)).status, 201u);
  const std::uint64_t t = kT0 / 1000;
  // Slot 0: import register 1000.0 Wh then 1012.5 Wh; a 300 V sample is rejected by the checks.
  now_ = kT0 + 40'000;
  EXPECT_EQ(Request(port_, http::verb::post, "/mup/1", Readings(t + 1, 10000, 2301)).status, 201u);
  EXPECT_EQ(Request(port_, http::verb::post, "/mup/1", Readings(t + 20, 10080, 3000)).status, 201u);
  EXPECT_EQ(Request(port_, http::verb::post, "/mup/1", Readings(t + 30, 10125, 2297)).status, 201u);
  // A sample from the future is rejected and counted.
  EXPECT_EQ(Request(port_, http::verb::post, "/mup/1", Readings(t + 50, 10130, 2300)).status, 201u);
  OracleCounters c = oracle_->counters();
  EXPECT_EQ(c.samples_accepted, 2u);
  EXPECT_EQ(c.samples_rejected.at("voltage"), 1u);
  EXPECT_EQ(c.samples_rejected.at("future"), 1u);
  EXPECT_EQ(c.readings_made, 0u);
  // The slot closes by the clock.
  now_ = kT0 + kSlot + 5'000;
  oracle_->CloseDueSlots();
  c = oracle_->counters();
  EXPECT_EQ(c.readings_made, 1u);
  EXPECT_EQ(c.queue, 1u);
  const Response m = Request(port_, http::verb::get, "/metrics");
  EXPECT_NE(m.body.find("nanum_oracle_samples_rejected_total{reason=\"voltage\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("nanum_oracle_queue_readings 1"), std::string::npos);
  EXPECT_EQ(Request(port_, http::verb::get, "/ready").status, 503u);
  // Healthy once the flusher has turned since the clock moved (it turns every 100 to 200 ms here).
  unsigned health = 0;
  for (int i = 0; i < 50 && health != 200; ++i) {
    health = Request(port_, http::verb::get, "/health").status;
    if (health != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(health, 200u);

  // The queued reading is signed by the oracle's key for the chain, for slot 0 of m-a.
  server_.reset();
  oracle_.reset();  // releases the store
  std::unique_ptr<Queue> q;
  ASSERT_TRUE(Queue::Open(dir_.string(), &q).ok());
  std::vector<QueuedReading> p;
  ASSERT_TRUE(q->Pending(10, &p).ok());
  ASSERT_EQ(p.size(), 1u);
  Transaction tx;
  ASSERT_TRUE(Transaction::Decode(p[0].envelope, &tx).ok());
  EXPECT_TRUE(tx.Verify("test-1").ok());
  EXPECT_EQ(tx.body().signer, key_.public_key());
  const auto& r = std::get<SubmitReading>(tx.body().payload);
  EXPECT_EQ(r.meter_id, "m-a");
  EXPECT_EQ(r.slot, kT0 / kSlot);
  EXPECT_EQ(r.sequence, 1u);
  EXPECT_EQ(r.cum_import_wh, 1012u);  // 1012.5 Wh, rounded down
  EXPECT_EQ(r.import_wh, 12u);
  EXPECT_EQ(r.voltage_mv, 229'700u);
}

TEST_F(OracleServerTest, PlugJsonOverHttp) {
  now_ = kT0 + 2000;
  Response r = Request(port_, http::verb::post, "/zigbee2mqtt/kitchen-plug",
                       R"({"energy":1.000,"power":100,"voltage":230,"current":0.45,"state":"ON","last_seen":)" +
                           std::to_string(kT0 + 1000) + "}",
                       "application/json");
  EXPECT_EQ(r.status, 204u) << r.body;
  r = Request(port_, http::verb::post, "/tasmota/pow-r2",
              R"({"Time":"2027-01-15T09:00:00","ENERGY":{"Total":2.5,"Power":10,"Voltage":231,"Current":0.05}})",
              "application/json");
  EXPECT_EQ(r.status, 204u) << r.body;  // taken in, then rejected by the checks as from the future
  const OracleCounters c = oracle_->counters();
  EXPECT_EQ(c.samples_accepted, 1u);
  EXPECT_EQ(c.samples_rejected.at("future"), 1u);
}

// Lines of "<topic> <json>" from a file the oracle follows and from a named pipe.
TEST(OracleInputTest, FileAndPipe) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "nanum-oracle-inputs";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "plugs.log").string(), fifo = (dir / "plugs.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::uint64_t now = 1'800'000'000'000;
  auto line = [&](const char* topic, std::uint64_t t, int wh) {
    return std::string(topic) + " {\"energy\":" + std::to_string(wh) + ",\"power\":50,\"last_seen\":" + std::to_string(t) + "}\n";
  };
  std::ofstream(file) << line("zigbee2mqtt/file-plug", now - 3000, 1) << "zigbee2mqtt/bridge/state {\"state\":\"online\"}\n"
                      << "zigbee2mqtt/file-plug {broken\n";
  OracleOptions o;
  o.config.data_dir = (dir / "data").string();
  o.config.node = "127.0.0.1:1";
  o.config.max_backoff_ms = 200;
  o.config.meters = {{"m-f", "file-plug", Flow::kImport}, {"m-p", "pipe-plug", Flow::kImport}};
  o.config.inputs = {{InputConfig::Kind::kFile, file}, {InputConfig::Kind::kPipe, fifo}};
  o.key = PrivateKey::Generate();
  o.chain_id = "test-1";
  o.slot_ms = kSlot;
  o.clock = [now] { return now; };
  std::unique_ptr<Oracle> oracle;
  ASSERT_TRUE(Oracle::Open(std::move(o), &oracle).ok());
  oracle->Start();
  {
    std::ofstream pipe(fifo);  // blocks until the oracle opens its end
    pipe << line("zigbee2mqtt/pipe-plug", now - 2000, 5) << line("zigbee2mqtt/pipe-plug", now - 1000, 6);
  }
  std::ofstream(file, std::ios::app) << line("zigbee2mqtt/file-plug", now - 500, 2);  // appended later
  OracleCounters c;
  for (int i = 0; i < 50; ++i) {
    c = oracle->counters();
    if (c.samples_accepted == 4 && c.messages_rejected["malformed"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(c.samples_accepted, 4u);
  EXPECT_EQ(c.messages_rejected["malformed"], 1u);  // the broken line; the bridge's line is not a device's
  oracle.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nanum::oracle
