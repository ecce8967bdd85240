package node

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	dto "github.com/prometheus/client_model/go"
)

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMQTTRoutingByAdapters measures what one telemetry message costs
// a node, from the broker to the durable store, as the number of adapters
// grows: one Victron adapter per home (a GX each, as a fleet of homes
// needs), 10, 250 and 4,000 of them, on the embedded broker, each message
// for the last-configured GX. It reports CPU per message (the whole
// process: publisher, broker and node, on a shared machine) and
// messages/s. The node routes each message once through a trie over the
// adapters' filters, so CPU per message stays flat; with paho's
// per-filter routes (before) every message was matched against every
// filter. Run with a fixed count, e.g. -benchtime=20000x: each size
// starts a node.
func BenchmarkMQTTRoutingByAdapters(b *testing.B) {
	for _, homes := range []int{10, 250, 4000} {
		b.Run(fmt.Sprintf("adapters=%d", homes), func(b *testing.B) {
			br := startTestBroker(b)
			var adapters strings.Builder
			for i := range homes {
				fmt.Fprintf(&adapters, "  - {dialect: victron, portal_id: c0619ab%05d, keep_alive: false}\n", i)
			}
			cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off"}
home_assistant: {enabled: false}
adapters:
%s`, b.TempDir(), br.URL(), adapters.String()))
			if err != nil {
				b.Fatal(err)
			}
			n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			pub := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID("bench"))
			if tok := pub.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
				b.Fatalf("publisher: %v", tok.Error())
			}
			defer pub.Disconnect(0)
			topic := fmt.Sprintf("N/c0619ab%05d/battery/512/Dc/0/Power", homes-1)
			processed := func() float64 {
				var m dto.Metric
				if err := n.metrics.messages.Write(&m); err != nil {
					b.Fatal(err)
				}
				return m.GetCounter().GetValue()
			}
			base := processed()
			cpu0, t0 := cpuTime(b), time.Now()
			b.ResetTimer()
			sent := 0
			// waitProcessed waits until at most behind messages are not
			// yet processed: the embedded broker drops what overflows the
			// node's queue, so the publisher keeps a bounded lead.
			waitProcessed := func(behind int) {
				deadline := time.Now().Add(patience)
				for processed()-base < float64(sent-behind) {
					if time.Now().After(deadline) {
						b.Fatalf("processed %v of %d messages", processed()-base, sent)
					}
					time.Sleep(time.Millisecond)
				}
			}
			for i := 0; b.Loop(); i++ {
				tok := pub.Publish(topic, 1, false, fmt.Appendf(nil, `{"value": %d}`, i%5000))
				sent++
				if sent%250 == 0 {
					if !tok.WaitTimeout(patience) || tok.Error() != nil {
						b.Fatalf("publish: %v", tok.Error())
					}
					waitProcessed(500)
				}
			}
			waitProcessed(0)
			b.StopTimer()
			cpu, wall := cpuTime(b)-cpu0, time.Since(t0)
			b.ReportMetric(float64(cpu.Microseconds())/float64(sent), "cpu-µs/msg")
			b.ReportMetric(float64(sent)/wall.Seconds(), "msgs/s")
		})
	}
}
