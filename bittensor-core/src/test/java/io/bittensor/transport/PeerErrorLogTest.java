package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.slf4j.Logger;

class PeerErrorLogTest {
    private final AtomicLong nanos = new AtomicLong(1_000_000_000_000L);
    private final Logger logger = mock(Logger.class);
    private final PeerErrorLog log = new PeerErrorLog(logger, Duration.ofSeconds(60), nanos::get);

    @Test
    void oneLinePerIntervalForAllKindsWithTheCountsSinceTheLastLine() {
        for (int i = 0; i < 10_000; i++) {
            log.record("malformed request", "bytes " + i);
            log.record("Forward BAD_SHAPE", "rank " + i);
            nanos.addAndGet(1_000_000); // 10 s in all
        }
        // Only the very first error logs at once; the other 19 999 are only counted.
        verify(logger, times(1)).warn(anyString(), any(Object[].class));
        nanos.addAndGet(Duration.ofSeconds(60).toNanos());
        log.record("malformed request", "last");
        ArgumentCaptor<Object[]> args = ArgumentCaptor.forClass(Object[].class);
        verify(logger, times(2)).warn(anyString(), args.capture());
        assertEquals("malformed request x1", args.getAllValues().get(0)[1]);
        Object[] line = args.getAllValues().get(1);
        assertEquals(60L, line[0]);
        // 9 999 unlogged + this one, and every BAD_SHAPE since the first line.
        assertEquals("Forward BAD_SHAPE x10000, malformed request x10000", line[1]);
        assertEquals("malformed request", line[2]);
        assertEquals("last", line[3]);
        assertEquals(10_001L, log.counts().get("malformed request"));
        assertEquals(20_001L, log.total());
    }

    @Test
    void neverPassesAThrowableSoNoStackTrace() {
        log.record("malformed request", "x");
        verify(logger, never()).warn(anyString(), any(Throwable.class));
        verify(logger, never()).warn(anyString(), any(), any(Throwable.class));
        verify(logger, times(1)).warn(eq("peer errors in the last {} s: {} (latest: {}: {})"),
                any(Object[].class));
    }

    @Test
    void kindsAreBounded() {
        for (int i = 0; i < 1000; i++) {
            log.record("kind " + i, "d");
        }
        assertEquals(PeerErrorLog.MAX_KINDS + 1, log.counts().size());
        assertEquals(1000 - PeerErrorLog.MAX_KINDS, log.counts().get("other"));
    }

    @Test
    void peerTextCannotForgeLinesOrGrowThem() {
        String clean = PeerErrorLog.clean("a\nERROR forged line\r\u001b[31m" + "x".repeat(10_000));
        assertFalse(clean.contains("\n") || clean.contains("\r") || clean.contains("\u001b"), clean);
        assertEquals(201, clean.length());
        assertEquals("null", PeerErrorLog.clean(null));
    }
}
