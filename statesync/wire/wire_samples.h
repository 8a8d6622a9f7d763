#pragma once

// Sample sync messages for the codec's tests, its benchmark and the fuzzer's
// seed corpus: one place for the fixtures, covering every field (both
// families, TCP/UDP/ICMP/ICMPv6/SCTP/another protocol, NAT tuples, labels,
// helper, sequence adjustment, expectations with and without NAT).
// Documentation addresses only.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "statesync/core/messages.h"

namespace hafw::statesync {

FlowEntry SampleTcpV4Masqueraded();  // SNAT to a VIP, established, FTP helper, seq adjust
FlowEntry SampleTcpV4DestinationNat();
FlowEntry SampleUdpV6();
FlowEntry SampleIcmpV4();
FlowEntry SampleIcmpV6();
FlowEntry SampleSctpV4();
FlowEntry SampleGreV6();  // a protocol without ports
FlowEntry SampleDestroyV4();
FlowEntry SampleRefreshV6();
// Every field at its largest encoding (IPv6): bounds the frame size.
FlowEntry SampleLargestFlow();

ExpectEntry SampleFtpExpectationV4Nat();  // a masqueraded PASV's data connection
ExpectEntry SampleExpectationV6();        // no NAT
ExpectEntry SampleExpectationDestroyed();
ExpectEntry SampleLargestExpectation();

std::vector<FlowEntry> SampleFlows();  // all of the above but the largest
std::vector<ExpectEntry> SampleExpectations();

// `count` flows cycling through SampleFlows(), made distinct by `salt` (ports,
// marks, timeouts), for batches of realistic variety.
std::vector<FlowEntry> SampleFlowBatch(size_t count, uint32_t salt);

Hello SampleHello();
Heartbeat SampleHeartbeat();
Ack SampleAck();
BulkRequest SampleBulkRequest();
BulkStart SampleBulkStart();
BulkEnd SampleBulkEnd();

// The fuzzer's seed corpus (fuzz/corpus/sync_decode): named byte streams of
// framed messages, one file each; a few hold several frames back to back.
std::vector<std::pair<std::string, std::vector<uint8_t>>> SampleCorpus();

}  // namespace hafw::statesync
