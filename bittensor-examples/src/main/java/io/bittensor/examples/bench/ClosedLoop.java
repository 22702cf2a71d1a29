package io.bittensor.examples.bench;

import io.bittensor.dendrite.Dendrite;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Closed-loop Forward load for the bench mains: callers, each sending its next call on a reply. */
final class ClosedLoop {

    private ClosedLoop() {
    }

    /** Successful replies per second, latency percentiles of every call, and non-OK replies. */
    record Result(double perSecond, double p50Ms, double p99Ms, long errors) {}

    /** {@code callers} threads calling Forward on {@code peer} with {@code x} for {@code seconds}. */
    static Result run(Dendrite dendrite, Synapse peer, INDArray x, Modality modality, int callers,
                      double seconds) throws InterruptedException {
        long durationNanos = (long) (seconds * 1e9);
        List<long[]> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicLong errors = new AtomicLong();
        AtomicLong calls = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(callers);
        List<Synapse> peers = List.of(peer);
        List<INDArray> inputs = List.of(x);
        for (int c = 0; c < callers; c++) {
            Thread t = new Thread(() -> {
                long[] lat = new long[1 << 20];
                int n = 0;
                try {
                    start.await();
                    long end = System.nanoTime() + durationNanos;
                    long now;
                    while ((now = System.nanoTime()) < end && n < lat.length) {
                        // Closed once read, as a caller done with the outputs does: the
                        // Dendrite reuses their arrays for the next replies.
                        try (DendriteCall call = dendrite.forward(peers, inputs, modality)) {
                            lat[n++] = System.nanoTime() - now;
                            if (call.results().get(0).code() != ReturnCode.OK) {
                                errors.incrementAndGet();
                            }
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    latencies.add(Arrays.copyOf(lat, n));
                    calls.addAndGet(n);
                    done.countDown();
                }
            }, "bench-caller-" + c);
            t.start();
        }
        long t0 = System.nanoTime();
        start.countDown();
        done.await();
        double elapsed = (System.nanoTime() - t0) / 1e9;
        long[] all = latencies.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        return new Result((calls.get() - errors.get()) / elapsed, pct(all, 0.50), pct(all, 0.99),
                errors.get());
    }

    private static double pct(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1e6;
    }

    /** A synapse record for {@code key} served on 127.0.0.1:{@code port}. */
    static Synapse synapse(String key, int port) {
        return Synapse.newBuilder().setVersion("0.0.0").setSynapseKey(key).setAddress("127.0.0.1")
                .setPort(Integer.toString(port)).build();
    }

    /** /proc/loadavg's three figures, or "n/a". */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
