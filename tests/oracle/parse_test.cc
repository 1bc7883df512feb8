// The oracle's inputs: the XML reader, IEEE 2030.5 Metering Mirror documents, zigbee2mqtt and
// Tasmota JSON, and the ZCL model's conversions at the edge.
#include <gtest/gtest.h>

#include "meter_oracle/plug_json.h"
#include "meter_oracle/sample.h"
#include "meter_oracle/sep2.h"
#include "meter_oracle/xml.h"

namespace nanum::oracle {
namespace {

// ---- XML ----

TEST(XmlTest, NamespacesDefaultAndPrefixed) {
  XmlElement root;
  ASSERT_TRUE(ParseXml(R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<sep:MirrorUsagePoint xmlns:sep="urn:ieee:std:2030.5:ns" href="/mup/1">
  <sep:mRID>0600006CC8</sep:mRID>
  <other xmlns="urn:x"><inner a='1' b="&lt;&amp;&#x41;&#66;"/></other>
  <sep:description><![CDATA[<raw> & text]]></sep:description>
</sep:MirrorUsagePoint>)", &root).ok());
  EXPECT_EQ(root.ns, "urn:ieee:std:2030.5:ns");
  EXPECT_EQ(root.name, "MirrorUsagePoint");
  EXPECT_EQ(root.attributes.at("href"), "/mup/1");
  EXPECT_EQ(root.attributes.count("sep"), 0u);  // declarations are not attributes
  ASSERT_NE(root.Child("mRID"), nullptr);
  EXPECT_EQ(root.Child("mRID")->text, "0600006CC8");
  EXPECT_EQ(root.Child("description")->text, "<raw> & text");
  ASSERT_EQ(root.children.size(), 3u);
  const XmlElement& other = root.children[1];
  EXPECT_EQ(other.ns, "urn:x");
  EXPECT_EQ(root.Child("other"), nullptr);  // another namespace
  EXPECT_EQ(other.children[0].ns, "urn:x");
  EXPECT_EQ(other.children[0].attributes.at("b"), "<&AB");
}

TEST(XmlTest, RefusesWhatItShould) {
  const std::pair<const char*, const char*> bad[] = {
      {"", "expected the root element"},
      {"<a>", "unclosed element <a>"},
      {"<a></b>", "</b> closes <a>"},
      {"<a x='1' x='2'/>", "duplicate attribute x"},
      {"<p:a/>", "undeclared namespace prefix p"},
      {"<a>&bogus;</a>", "unknown entity &bogus;"},
      {"<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>", "DOCTYPE declarations are not accepted"},
      {"<a/><b/>", "content after the root element"},
      {"<a b=1/>", "expected a quoted attribute value"},
      {"<a>&#0;</a>", "bad character reference"},
  };
  for (const auto& [doc, why] : bad) {
    XmlElement root;
    const Status s = ParseXml(doc, &root);
    EXPECT_FALSE(s.ok()) << doc;
    EXPECT_NE(s.message().find(why), std::string::npos) << doc << " -> " << s.ToString();
    EXPECT_NE(s.message().find("line 1"), std::string::npos) << s.ToString();
  }
}

TEST(XmlTest, DepthIsBounded) {
  std::string deep;
  for (int i = 0; i < kMaxXmlDepth + 1; ++i) deep += "<a>";
  for (int i = 0; i < kMaxXmlDepth + 1; ++i) deep += "</a>";
  XmlElement root;
  const Status s = ParseXml(deep, &root);
  EXPECT_NE(s.message().find("nested too deeply"), std::string::npos) << s.ToString();
  std::string ok;
  for (int i = 0; i < kMaxXmlDepth; ++i) ok += "<a>";
  for (int i = 0; i < kMaxXmlDepth; ++i) ok += "</a>";
  EXPECT_TRUE(ParseXml(ok, &root).ok());
}

// ---- IEEE 2030.5 ----

// A MirrorUsagePoint as a meter's client posts it (after IEEE 2030.5-2018, Annex C's
// metering mirror examples): a net meter with import and export registers in kWh
// (powerOfTenMultiplier 3), and voltage in tenths of a volt.
constexpr const char* kUsagePoint = R"(<?xml version="1.0" encoding="UTF-8"?>
<MirrorUsagePoint xmlns="urn:ieee:std:2030.5:ns">
  <mRID>0600006CC8000000000000000000A0B1</mRID>
  <description>Unit 204 meter</description>
  <roleFlags>13</roleFlags>
  <serviceCategoryKind>0</serviceCategoryKind>
  <status>1</status>
  <deviceLFDI>247bd68e3378fe57ba604e3c8bdf9e3f78a3d743</deviceLFDI>
  <MirrorMeterReading>
    <mRID>0700006CC8000000000000000000A0B1</mRID>
    <description>Real energy imported</description>
    <Reading><value>12345</value><timePeriod><duration>0</duration><start>1800000000</start></timePeriod></Reading>
    <ReadingType>
      <accumulationBehaviour>9</accumulationBehaviour>
      <commodity>1</commodity>
      <dataQualifier>0</dataQualifier>
      <flowDirection>1</flowDirection>
      <powerOfTenMultiplier>3</powerOfTenMultiplier>
      <uom>72</uom>
    </ReadingType>
  </MirrorMeterReading>
  <MirrorMeterReading>
    <mRID>0800006CC8000000000000000000A0B1</mRID>
    <description>Real energy exported</description>
    <ReadingType>
      <accumulationBehaviour>9</accumulationBehaviour>
      <flowDirection>19</flowDirection>
      <powerOfTenMultiplier>0</powerOfTenMultiplier>
      <uom>72</uom>
    </ReadingType>
  </MirrorMeterReading>
  <MirrorMeterReading>
    <mRID>0900006CC8000000000000000000A0B1</mRID>
    <description>Voltage</description>
    <ReadingType>
      <accumulationBehaviour>12</accumulationBehaviour>
      <powerOfTenMultiplier>-1</powerOfTenMultiplier>
      <uom>29</uom>
    </ReadingType>
  </MirrorMeterReading>
  <postRate>900</postRate>
</MirrorUsagePoint>)";

TEST(Sep2Test, UsagePointAndItsFirstReading) {
  XmlElement root;
  ASSERT_TRUE(ParseXml(kUsagePoint, &root).ok());
  sep2::UsagePoint mup;
  ASSERT_TRUE(sep2::ParseUsagePoint(root, &mup).ok());
  EXPECT_EQ(mup.mrid, "0600006CC8000000000000000000A0B1");
  EXPECT_EQ(mup.description, "Unit 204 meter");
  EXPECT_EQ(mup.device_lfdi, "247bd68e3378fe57ba604e3c8bdf9e3f78a3d743");
  ASSERT_EQ(mup.readings.size(), 3u);
  EXPECT_EQ(*mup.readings[0].type, (sep2::ReadingType{72, 3, 1, 9}));
  EXPECT_EQ(*mup.readings[2].type, (sep2::ReadingType{29, -1, 0, 12}));

  std::map<std::string, sep2::ReadingType> types;
  for (const auto& mr : mup.readings) types[mr.mrid] = *mr.type;
  std::vector<Sample> samples;
  ASSERT_TRUE(sep2::ToSamples(mup.mrid, types, mup.readings, 5, &samples).ok());
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].time_ms, 1'800'000'000'000u);
  // 12345 × 10^3 Wh = 12,345 kWh: raw 12345 with multiplier 1 (kWh) = 12,345,000 Wh.
  ASSERT_TRUE(samples[0].summation_delivered);
  EXPECT_EQ(RegisterWh(*samples[0].summation_delivered), 12'345'000u);
  EXPECT_FALSE(samples[0].summation_received);
}

TEST(Sep2Test, MirrorMeterReadingWithReadingSetsAndMultipliers) {
  // Posted to /mup/1 later: the ReadingTypes come from the registration.
  XmlElement root;
  ASSERT_TRUE(ParseXml(R"(<MirrorMeterReadingList xmlns="http://ieee.org/2030.5" all="2" results="2">
  <MirrorMeterReading>
    <mRID>0800006CC8000000000000000000A0B1</mRID>
    <lastUpdateTime>1800000900</lastUpdateTime>
    <MirrorReadingSet>
      <mRID>0A00006CC8000000000000000000A0B1</mRID>
      <timePeriod><duration>900</duration><start>1800000000</start></timePeriod>
      <Reading><timePeriod><duration>300</duration><start>1800000000</start></timePeriod><value>1000</value></Reading>
      <Reading><timePeriod><duration>300</duration><start>1800000300</start></timePeriod><value>1250</value></Reading>
      <Reading><value>1400</value></Reading>
    </MirrorReadingSet>
  </MirrorMeterReading>
  <MirrorMeterReading>
    <mRID>0900006CC8000000000000000000A0B1</mRID>
    <lastUpdateTime>1800000900</lastUpdateTime>
    <Reading><value>2301</value></Reading>
  </MirrorMeterReading>
</MirrorMeterReadingList>)", &root).ok());
  std::vector<sep2::MeterReading> readings;
  ASSERT_TRUE(sep2::ParseMirrorPost(root, &readings).ok());
  ASSERT_EQ(readings.size(), 2u);
  EXPECT_EQ(readings[0].readings.size(), 3u);
  std::map<std::string, sep2::ReadingType> types = {
      {"0800006CC8000000000000000000A0B1", {72, 0, 19, 9}},
      {"0900006CC8000000000000000000A0B1", {29, -1, 0, 12}},
  };
  std::vector<Sample> s;
  ASSERT_TRUE(sep2::ToSamples("mup-a", types, readings, 0, &s).ok());
  // Times: the readings' own periods' ends (…300, …600), then the set's end (…900), where
  // the voltage (lastUpdateTime …900 is also its time) joins the same sample.
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].time_ms, 1'800'000'300'000u);
  EXPECT_EQ(s[1].time_ms, 1'800'000'600'000u);
  EXPECT_EQ(s[2].time_ms, 1'800'000'900'000u);
  EXPECT_EQ(RegisterWh(*s[0].summation_received), 1000u);
  EXPECT_EQ(RegisterWh(*s[2].summation_received), 1400u);
  ASSERT_TRUE(s[2].rms_voltage);
  EXPECT_EQ(Milli(*s[2].rms_voltage), 230'100);  // 2301 × 10^-1 V
  EXPECT_FALSE(s[0].rms_voltage);
}

TEST(Sep2Test, PowerAndPowerFactorMapping) {
  std::map<std::string, sep2::ReadingType> types = {
      {"w-exp", {38, 1, 19, 12}},   // W, tens, reverse flow: export
      {"a", {5, -3, 0, 12}},        // mA
      {"pf", {65, -3, 0, 12}},      // thousandths
  };
  std::vector<sep2::MeterReading> rs = {
      {"w-exp", "", std::nullopt, std::nullopt, {{152, 100}}},
      {"a", "", std::nullopt, std::nullopt, {{6620, 100}}},
      {"pf", "", std::nullopt, std::nullopt, {{-957, 100}}},
  };
  std::vector<Sample> s;
  ASSERT_TRUE(sep2::ToSamples("d", types, rs, 0, &s).ok());
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(Milli(*s[0].active_power), -1'520'000);  // 152 × 10 W exported
  EXPECT_EQ(Milli(*s[0].rms_current), 6'620);
  EXPECT_EQ(*s[0].power_factor, -96);  // hundredths, to nearest
  EXPECT_EQ(PowerFactorPermille(*s[0].power_factor), -960);
}

TEST(Sep2Test, RefusesWrongDocumentsWithTheReason) {
  auto post = [](const char* doc) {
    XmlElement root;
    Status s = ParseXml(doc, &root);
    std::vector<sep2::MeterReading> out;
    if (s.ok()) s = sep2::ParseMirrorPost(root, &out);
    return s;
  };
  auto mup = [](const char* doc) {
    XmlElement root;
    Status s = ParseXml(doc, &root);
    sep2::UsagePoint out;
    if (s.ok()) s = sep2::ParseUsagePoint(root, &out);
    return s;
  };
  const std::pair<Status, const char*> cases[] = {
      {post("<MirrorMeterReading><mRID>1</mRID></MirrorMeterReading>"), "not in the IEEE 2030.5 namespace"},
      {post("<MirrorUsagePoint xmlns='urn:ieee:std:2030.5:ns'><mRID>1</mRID></MirrorUsagePoint>"),
       "takes a MirrorMeterReading, MirrorMeterReadingList or MirrorReadingSet"},
      {mup("<MirrorMeterReading xmlns='urn:ieee:std:2030.5:ns'/>"), "takes a MirrorUsagePoint"},
      {mup("<MirrorUsagePoint xmlns='urn:ieee:std:2030.5:ns'></MirrorUsagePoint>"), "has no mRID"},
      {post("<MirrorMeterReading xmlns='urn:ieee:std:2030.5:ns'><mRID>1</mRID><Reading><value>12x</value></Reading>"
            "</MirrorMeterReading>"),
       "value is not an integer"},
      {post("<MirrorMeterReading xmlns='urn:ieee:std:2030.5:ns'><mRID>1</mRID><ReadingType><uom>72</uom>"
            "<accumulationBehaviour>12</accumulationBehaviour><flowDirection>1</flowDirection></ReadingType>"
            "</MirrorMeterReading>"),
       "uom 72 (Wh) needs accumulationBehaviour 9"},
      {post("<MirrorMeterReading xmlns='urn:ieee:std:2030.5:ns'><mRID>1</mRID><ReadingType><uom>61</uom>"
            "<accumulationBehaviour>12</accumulationBehaviour></ReadingType></MirrorMeterReading>"),
       "uom 61 is not one of"},
      {post("<MirrorMeterReading xmlns='urn:ieee:std:2030.5:ns'><mRID>1</mRID><ReadingType><uom>38</uom>"
            "<accumulationBehaviour>12</accumulationBehaviour><powerOfTenMultiplier>10</powerOfTenMultiplier>"
            "</ReadingType></MirrorMeterReading>"),
       "powerOfTenMultiplier 10 is outside -9..9"},
      {post("<MirrorReadingSet xmlns='urn:ieee:std:2030.5:ns'><mRID>1</mRID></MirrorReadingSet>"),
       "MirrorReadingSet has no Reading"},
      {post("<MirrorMeterReading xmlns='urn:ieee:std:2030.5:ns'><mRID>1</mRID><Reading/></MirrorMeterReading>"),
       "Reading has no value"},
  };
  for (const auto& [s, why] : cases) {
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << why;
    EXPECT_NE(s.message().find(why), std::string::npos) << s.ToString();
  }
  // A reading whose MirrorMeterReading was never registered and carries no ReadingType.
  std::vector<Sample> out;
  const Status s = sep2::ToSamples("d", {}, {{"unknown", "", std::nullopt, std::nullopt, {{1, 1}}}}, 0, &out);
  EXPECT_NE(s.message().find("not registered"), std::string::npos) << s.ToString();
}

TEST(Sep2Test, ServesDeviceCapabilityAndTheList) {
  XmlElement root;
  ASSERT_TRUE(ParseXml(sep2::DeviceCapabilityXml(), &root).ok());
  EXPECT_EQ(root.name, "DeviceCapability");
  EXPECT_EQ(root.ns, sep2::kNamespace);
  ASSERT_NE(root.Child("MirrorUsagePointListLink"), nullptr);
  EXPECT_EQ(root.Child("MirrorUsagePointListLink")->attributes.at("href"), "/mup");
  ASSERT_TRUE(ParseXml(sep2::UsagePointListXml({{"/mup/1", "A&B", "", "lfdi"}}), &root).ok());
  EXPECT_EQ(root.attributes.at("all"), "1");
  EXPECT_EQ(root.children[0].Child("mRID")->text, "A&B");
}

// ---- zigbee2mqtt and Tasmota ----

TEST(PlugJsonTest, Zigbee2MqttSmartPlug) {
  // A TuYa TS011F plug's state message as zigbee2mqtt publishes it (last_seen as epoch ms).
  Sample s;
  ASSERT_TRUE(ParsePlugJson(Format::kZigbee2Mqtt, "kitchen-plug", Flow::kImport,
                            R"({"child_lock":"UNLOCK","current":0.54,"energy":12.34,"indicator_mode":"off",
                                "last_seen":1800000012345,"linkquality":142,"power":118.2,
                                "power_outage_memory":"restore","state":"ON","voltage":229.8,"power_factor":0.95})",
                            1, &s)
                  .ok());
  EXPECT_EQ(s.device, "kitchen-plug");
  EXPECT_EQ(s.time_ms, 1'800'000'012'345u);
  EXPECT_EQ(RegisterWh(*s.summation_delivered), 12'340u);
  EXPECT_FALSE(s.summation_received);
  EXPECT_EQ(Milli(*s.active_power), 118'200);
  EXPECT_EQ(Milli(*s.rms_voltage), 229'800);
  EXPECT_EQ(Milli(*s.rms_current), 540);
  EXPECT_EQ(*s.power_factor, 95);
  EXPECT_TRUE(*s.on);
}

TEST(PlugJsonTest, Zigbee2MqttExportPlugAndIsoLastSeen) {
  Sample s;
  ASSERT_TRUE(ParsePlugJson(Format::kZigbee2Mqtt, "inverter", Flow::kExport,
                            R"({"energy":3.2,"power":612,"voltage":231,"current":2.7,
                                "last_seen":"2027-01-15T03:00:00+09:00","state":"ON"})",
                            1, &s)
                  .ok());
  EXPECT_EQ(RegisterWh(*s.summation_received), 3'200u);
  EXPECT_FALSE(s.summation_delivered);
  EXPECT_EQ(Milli(*s.active_power), -612'000);  // export is negative
  EXPECT_EQ(s.time_ms, *ParseIsoTime("2027-01-14T18:00:00Z"));
  // A message with no time takes the receive time; percent power factors are taken too.
  ASSERT_TRUE(ParsePlugJson(Format::kZigbee2Mqtt, "p", Flow::kImport, R"({"power":5,"power_factor":87})", 777, &s).ok());
  EXPECT_EQ(s.time_ms, 777u);
  EXPECT_EQ(*s.power_factor, 87);
}

TEST(PlugJsonTest, TasmotaSensor) {
  // tele/<topic>/SENSOR of a Sonoff POW R2 running Tasmota 13.
  Sample s;
  ASSERT_TRUE(ParsePlugJson(Format::kTasmota, "pow-r2", Flow::kImport,
                            R"({"Time":"2027-01-15T12:00:05","ENERGY":{"TotalStartTime":"2026-11-01T10:00:00",
                                "Total":154.321,"Yesterday":3.210,"Today":1.025,"Period":4,"Power":240,
                                "ApparentPower":252,"ReactivePower":77,"Factor":0.95,"Voltage":230,"Current":1.095}})",
                            1, &s)
                  .ok());
  EXPECT_EQ(s.time_ms, *ParseIsoTime("2027-01-15T12:00:05Z"));
  EXPECT_EQ(RegisterWh(*s.summation_delivered), 154'321u);
  EXPECT_EQ(Milli(*s.active_power), 240'000);
  EXPECT_EQ(Milli(*s.rms_current), 1'095);
  EXPECT_EQ(*s.power_factor, 95);
  // A STATE message carries no measurement.
  EXPECT_TRUE(ParsePlugJson(Format::kTasmota, "pow-r2", Flow::kImport,
                            R"({"Time":"2027-01-15T12:00:05","Uptime":"0T01:00:00","POWER":"ON"})", 1, &s)
                  .IsNotFound());
}

TEST(PlugJsonTest, MalformedMessagesAreRefusedWithTheReason) {
  const std::tuple<Format, const char*, const char*> bad[] = {
      {Format::kZigbee2Mqtt, R"({"power": 12,)", "malformed JSON"},
      {Format::kZigbee2Mqtt, R"([1,2])", "not a JSON object"},
      {Format::kZigbee2Mqtt, R"({"power":"12"})", "power is not a number"},
      {Format::kZigbee2Mqtt, R"({"energy":-1})", "energy is negative"},
      {Format::kZigbee2Mqtt, R"({"power":1,"state":"MAYBE"})", "state is neither ON nor OFF"},
      {Format::kZigbee2Mqtt, R"({"power":1,"last_seen":"yesterday"})", "last_seen is not an ISO 8601 time"},
      {Format::kZigbee2Mqtt, R"({"power":1,"power_factor":140})", "power factor is outside -1..1"},
      {Format::kTasmota, R"({"ENERGY":[1]})", "ENERGY is not an object"},
      {Format::kTasmota, R"({"Time":"2027-13-01T00:00:00","ENERGY":{"Power":1}})", "Time is not an ISO 8601 time"},
  };
  for (const auto& [format, json, why] : bad) {
    Sample s;
    const Status st = ParsePlugJson(format, "d", Flow::kImport, json, 1, &s);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << json;
    EXPECT_NE(st.message().find(why), std::string::npos) << json << " -> " << st.ToString();
  }
  Sample s;
  EXPECT_TRUE(ParsePlugJson(Format::kZigbee2Mqtt, "d", Flow::kImport, R"({"linkquality":80})", 1, &s).IsNotFound());
}

TEST(PlugJsonTest, TopicLines) {
  Format f;
  std::string device;
  std::string_view json;
  ASSERT_TRUE(ParseTopicLine("zigbee2mqtt/kitchen-plug {\"power\":1}\n", &f, &device, &json).ok());
  EXPECT_EQ(f, Format::kZigbee2Mqtt);
  EXPECT_EQ(device, "kitchen-plug");
  EXPECT_EQ(json, "{\"power\":1}");
  ASSERT_TRUE(ParseTopicLine("tele/pow-r2/SENSOR {}", &f, &device, &json).ok());
  EXPECT_EQ(f, Format::kTasmota);
  EXPECT_EQ(device, "pow-r2");
  EXPECT_TRUE(ParseTopicLine("tele/pow-r2/STATE {}", &f, &device, &json).IsNotFound());
  EXPECT_TRUE(ParseTopicLine("zigbee2mqtt/bridge/state {\"state\":\"online\"}", &f, &device, &json).IsNotFound());
  EXPECT_TRUE(ParseTopicLine("homeassistant/x {}", &f, &device, &json).IsNotFound());
  EXPECT_EQ(ParseTopicLine("no-space-here", &f, &device, &json).code(), Status::Code::kInvalidArgument);
}

TEST(SampleTest, EdgeConversions) {
  EXPECT_EQ(RegisterWh({12345, 1, 1000}), 12'345u);  // 12.345 kWh
  EXPECT_EQ(RegisterWh({12345, 1, 100000}), 123u);   // 0.12345 kWh, rounded down
  EXPECT_EQ(RegisterWh({7, 1000, 1}), 7'000'000u);   // 7 MWh
  EXPECT_EQ(RegisterWh({-5, 1, 1}), 0u);
  EXPECT_EQ(Milli({2298, 1, 10}), 229'800);
  EXPECT_EQ(Milli({-15, 1, 1000}), -15);
  EXPECT_EQ(Milli({-1, 1, 2000}), -1);  // -0.5 m: halves away from zero
  EXPECT_EQ(*ParseIsoTime("1970-01-01T00:00:01.5Z"), 1500u);
  EXPECT_EQ(*ParseIsoTime("2000-03-01T00:00:00"), 951'868'800'000u);
  EXPECT_FALSE(ParseIsoTime("2000-03-01"));
  EXPECT_FALSE(ParseIsoTime("2000-03-01T00:00:00+9"));
}

}  // namespace
}  // namespace nanum::oracle
