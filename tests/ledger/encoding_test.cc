// The canonical encoding's primitives: golden bytes for each, and the decoder's errors.
#include "ledger/encoding.h"

#include <gtest/gtest.h>

#include "ledger/crypto.h"

namespace nanum {
namespace {

TEST(Encoding, PrimitivesHaveFixedBigEndianBytes) {
  Writer w;
  w.U8(0x01);
  w.U16(0x0203);
  w.U32(0x04050607);
  w.U64(0x08090a0b0c0d0e0fULL);
  w.I64(-2);
  w.Bool(true);
  w.Bool(false);
  w.Bytes("hi");
  w.Bytes("");
  std::array<std::uint8_t, 3> fixed{0xaa, 0xbb, 0xcc};
  w.Fixed(fixed);
  EXPECT_EQ(ToHex(w.data()),
            "01"                  // u8
            "0203"                // u16
            "04050607"            // u32
            "08090a0b0c0d0e0f"    // u64
            "fffffffffffffffe"    // i64 -2
            "01" "00"             // bools
            "00000002" "6869"     // bytes "hi"
            "00000000"            // empty bytes
            "aabbcc");            // fixed[3]
}

TEST(Encoding, ReaderReadsWhatWriterWrote) {
  Writer w;
  w.U8(7);
  w.U16(65535);
  w.U32(1u << 31);
  w.U64(~0ULL);
  w.I64(INT64_MIN);
  w.Bool(true);
  w.Bytes("payload");
  Reader r(w.data(), "test");
  EXPECT_EQ(r.U8(), 7);
  EXPECT_EQ(r.U16(), 65535);
  EXPECT_EQ(r.U32(), 1u << 31);
  EXPECT_EQ(r.U64(), ~0ULL);
  EXPECT_EQ(r.I64(), INT64_MIN);
  EXPECT_TRUE(r.Bool());
  EXPECT_EQ(r.Bytes(100, "field"), "payload");
  EXPECT_TRUE(r.Finish().ok());
}

TEST(Encoding, TruncatedInputIsReportedAndSticky) {
  std::string in("\x00\x01", 2);
  Reader r(in, "thing");
  EXPECT_EQ(r.U32(), 0u);
  EXPECT_EQ(r.status().code(), Status::Code::kTruncated);
  EXPECT_EQ(r.U8(), 0);  // sticky: no read after the first error
  EXPECT_EQ(r.Finish().code(), Status::Code::kTruncated);
  EXPECT_NE(r.status().message().find("thing"), std::string::npos);
}

TEST(Encoding, TrailingBytesAreRejected) {
  std::string in("\x05\x06", 2);
  Reader r(in, "thing");
  EXPECT_EQ(r.U8(), 5);
  EXPECT_EQ(r.Finish().code(), Status::Code::kTrailingData);
}

TEST(Encoding, BooleanOtherThanZeroOrOneIsRejected) {
  std::string in("\x02", 1);
  Reader r(in, "thing");
  r.Bool();
  EXPECT_EQ(r.Finish().code(), Status::Code::kInvalidArgument);
}

TEST(Encoding, LengthOverLimitIsTooLarge) {
  Writer w;
  w.Bytes(std::string(11, 'x'));
  Reader r(w.data(), "thing");
  r.Bytes(10, "name");
  EXPECT_EQ(r.Finish().code(), Status::Code::kTooLarge);
  EXPECT_NE(r.status().message().find("name"), std::string::npos);
}

TEST(Encoding, LengthBeyondInputIsTruncatedNotAllocated) {
  Writer w;
  w.U32(0xfffffff0u);  // claims 4 GiB, input has nothing after it
  Reader r(w.data(), "thing");
  r.Bytes(~std::size_t{0}, "blob");
  EXPECT_EQ(r.Finish().code(), Status::Code::kTruncated);
}

TEST(Encoding, CountThatCannotFitIsRejectedBeforeAllocation) {
  Writer w;
  w.U32(1000);  // 1000 elements of at least 8 bytes in 4 bytes of input
  w.U32(0);
  Reader r(w.data(), "list");
  EXPECT_EQ(r.Count(100000, 8, "items"), 0u);
  EXPECT_EQ(r.status().code(), Status::Code::kTruncated);

  Reader r2(w.data(), "list");
  EXPECT_EQ(r2.Count(10, 8, "items"), 0u);
  EXPECT_EQ(r2.status().code(), Status::Code::kTooLarge);
}

}  // namespace
}  // namespace nanum
