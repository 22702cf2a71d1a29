package io.bittensor.dendrite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.neuron.TestNeurons;
import io.bittensor.proto.Modality;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class DendriteTest {

    @Test
    void nouncesFollowTheClockAndStrictlyIncrease() {
        AtomicLong clock = new AtomicLong(1_000);
        try (Dendrite d = Dendrite.builder().ioThreads(1).clockMicros(clock::get).build()) {
            assertEquals(1_000, d.nextNounce());
            assertEquals(1_001, d.nextNounce(), "same microsecond: still increasing");
            clock.set(5_000);
            assertEquals(5_000, d.nextNounce());
            clock.set(10); // the clock stepped back
            assertEquals(5_001, d.nextNounce());
        }
    }

    @Test
    void aWaitThatWakesLateAfterAPauseGetsOneMoreGracePeriodNotAnException() throws Exception {
        // After a SIGSTOP the waiting thread and gRPC's deadline timers wake together: the replies
        // arrive just after the first wait ran out. That must not fail the step.
        try (Dendrite d = Dendrite.builder().ioThreads(1).timeout(java.time.Duration.ofMillis(50)).build()) {
            java.util.concurrent.CompletableFuture<String> late = new java.util.concurrent.CompletableFuture<>();
            java.util.concurrent.CompletableFuture.delayedExecutor(2_400, java.util.concurrent.TimeUnit.MILLISECONDS)
                    .execute(() -> late.complete("replies"));
            assertEquals("replies", d.await(late));
        }
    }

    @Test
    void endpointsAndArgumentChecks() {
        try (Dendrite d = Dendrite.builder().ioThreads(1).remoteIp("10.0.0.5").build()) {
            assertEquals("1.2.3.4:8091", d.endpoint(TestNeurons.synapse("k", "1.2.3.4", 8091)));
            assertEquals("localhost:8091", d.endpoint(TestNeurons.synapse("k", "10.0.0.5", 8091)));
            assertEquals("[::1]:9", d.endpoint(TestNeurons.synapse("k", "::1", 9)));
            assertThrows(IllegalArgumentException.class, () -> d.forward(
                    List.of(TestNeurons.synapse("k", "1.2.3.4", 1)), List.of(), Modality.TENSOR));
            assertThrows(IllegalArgumentException.class, () -> d.forward(
                    List.of(TestNeurons.synapse("k", "1.2.3.4", 1)), List.of(Nd4j.zeros(2, 2)), Modality.TENSOR));
            // A synapse with a bad port is a per-peer failure, not an exception.
            var call = d.forward(List.of(TestNeurons.synapse("k", "1.2.3.4", 1).toBuilder().setPort("x").build()),
                    List.of(Nd4j.zeros(1, 1, 4)), Modality.TENSOR);
            assertEquals(io.bittensor.proto.ReturnCode.UNAVAILABLE, call.results().get(0).code());
        }
    }

    @Test
    void sanitizeZeroesNaNAndInfinities() {
        var x = Nd4j.createFromArray(1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -2f);
        Dendrite.sanitize(x);
        assertEquals(Nd4j.createFromArray(1f, 0f, 0f, 0f, -2f), x);
    }

    @Test
    void sanitizeFindsASingleNonFiniteValueAnywhereInAReplySizedArray() {
        // [64, 1, 512] as a reply: the BLAS check must see one bad value in the body or the tail.
        for (org.nd4j.linalg.api.buffer.DataType type : new org.nd4j.linalg.api.buffer.DataType[] {
                org.nd4j.linalg.api.buffer.DataType.FLOAT, org.nd4j.linalg.api.buffer.DataType.DOUBLE}) {
            for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                for (long at : new long[] {0, 12_345, 64 * 512 - 1}) {
                    var x = Nd4j.ones(type, 64, 1, 512);
                    x.putScalar(at, bad);
                    Dendrite.sanitize(x);
                    assertEquals(0.0, x.getDouble(at), type + " " + bad + " at " + at);
                    assertEquals(64 * 512 - 1, x.sumNumber().doubleValue(), 0.0, type + " " + bad + " at " + at);
                }
            }
        }
        var clean = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 64, 1, 512).subi(0.5);
        var copy = clean.dup();
        Dendrite.sanitize(clean);
        assertEquals(copy, clean);
    }

    @Test
    void backoffDoublesUpToTheCapAndForgetsOnSuccess() {
        AtomicLong now = new AtomicLong();
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofMillis(350), now::get, 2);
        assertEquals(Duration.ofMillis(100), b.failure("p"));
        assertEquals(Duration.ofMillis(200), b.failure("p"));
        assertEquals(Duration.ofMillis(350), b.failure("p"));
        assertEquals(Duration.ofMillis(350), b.failure("p"));
        assertEquals(4, b.failures("p"));
        now.addAndGet(Duration.ofMillis(349).toNanos());
        assertEquals(Duration.ofMillis(1), b.remaining("p"));
        b.success("p");
        assertEquals(Duration.ZERO, b.remaining("p"));
        assertEquals(0, b.failures("p"));
        b.failure("a");
        b.failure("b");
        b.failure("c"); // bounded memory: "a" is forgotten
        assertEquals(0, b.failures("a"));
    }
}
