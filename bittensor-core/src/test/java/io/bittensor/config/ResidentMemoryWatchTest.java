package io.bittensor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The RSS watch on this process's real /proc readings, with an injected relief and clock. */
class ResidentMemoryWatchTest {
    @BeforeAll
    static void linux() {
        assumeTrue(Files.isReadable(ResidentMemoryWatch.STATUS), "needs /proc/self/status");
    }

    private static long rss() {
        return ResidentMemoryWatch.readRss(ResidentMemoryWatch.STATUS);
    }

    @Test
    void readsThisProcesssResidentSize() {
        long bytes = rss();
        // A JVM that ran JUnit is resident for more than a few MiB and less than the machine's memory.
        assertTrue(bytes > 8L << 20, "RSS " + bytes);
        assertTrue(bytes < Runtime.getRuntime().maxMemory() + (8L << 30), "RSS " + bytes);
    }

    @Test
    void anUnreadableOrForeignStatusFileReadsAsUnknown(@TempDir Path dir) throws Exception {
        assertEquals(-1, ResidentMemoryWatch.readRss(dir.resolve("absent")));
        Path odd = Files.writeString(dir.resolve("status"), "Name:\tjava\nVmRSS:\tmany kB\n");
        assertEquals(-1, ResidentMemoryWatch.readRss(odd));
        Path good = Files.writeString(dir.resolve("good"), "Name:\tjava\nVmRSS:\t  2048 kB\nThreads:\t3\n");
        assertEquals(2L << 20, ResidentMemoryWatch.readRss(good));
    }

    @Test
    void aCapBelowTheRealRssRunsTheReliefAndWarns() {
        AtomicLong reliefs = new AtomicLong();
        List<String> warnings = new ArrayList<>();
        ResidentMemoryWatch watch = new ResidentMemoryWatch(1 << 20, ResidentMemoryWatchTest::rss,
                reliefs::incrementAndGet, () -> 0, warnings::add, 0);
        watch.check();
        assertEquals(1, reliefs.get());
        assertEquals(1, watch.reliefs());
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("passed its cap 1 MiB (-Dbittensor.maxrss)"), warnings.get(0));
    }

    @Test
    void aCapAboveTheRealRssDoesNothing() {
        AtomicLong reliefs = new AtomicLong();
        List<String> warnings = new ArrayList<>();
        ResidentMemoryWatch watch = new ResidentMemoryWatch(rss() + (4L << 30), ResidentMemoryWatchTest::rss,
                reliefs::incrementAndGet, () -> 0, warnings::add, 0);
        for (int i = 0; i < 5; i++) {
            watch.check();
        }
        assertEquals(0, reliefs.get());
        assertTrue(warnings.isEmpty());
    }

    @Test
    void theWarningIsAtMostOneLineAMinute() {
        AtomicBoolean high = new AtomicBoolean(true);
        AtomicLong now = new AtomicLong();
        List<String> warnings = new ArrayList<>();
        // RSS above the cap at every check, back under it after each relief (the GC helped).
        ResidentMemoryWatch watch = new ResidentMemoryWatch(100, () -> high.getAndSet(false) ? 200 : 50,
                () -> {}, now::get, warnings::add, 1000);
        for (long t = 0; t < 150_000; t += 1000) {
            now.set(t);
            high.set(true);
            watch.check();
        }
        assertEquals(150, watch.reliefs(), "a GC at every check while it helps");
        assertEquals(3, warnings.size(), "at 0, 60 and 120 s: " + warnings);
    }

    @Test
    void aGcThatDoesNotHelpBacksOff() {
        AtomicLong now = new AtomicLong();
        List<String> warnings = new ArrayList<>();
        ResidentMemoryWatch watch = new ResidentMemoryWatch(100, () -> 200, () -> {}, now::get, warnings::add, 1000);
        for (long t = 0; t < 64_000; t += 1000) {
            now.set(t);
            watch.check();
        }
        // At 0, 1, 3, 7, 15, 31 and 63 s: the wait doubles up to 32 s.
        assertEquals(7, watch.reliefs());
        assertEquals(2, warnings.size(), warnings.toString());
    }

    @Test
    void theThreadRunsTheReliefAndCloseStopsIt() throws Exception {
        CountDownLatch relieved = new CountDownLatch(2);
        ResidentMemoryWatch watch = new ResidentMemoryWatch(1 << 20, ResidentMemoryWatchTest::rss,
                relieved::countDown, System::currentTimeMillis, w -> {}, 5).begin();
        try {
            assertTrue(watch.running());
            assertTrue(relieved.await(30, TimeUnit.SECONDS), "the watch ran its relief");
        } finally {
            watch.close();
        }
        assertFalse(watch.running());
    }

    @Test
    void theReliefFindsJavaCppsMallocTrim() {
        // Without it a GC frees ND4J's buffers into malloc's arenas and RSS does not fall: a JavaCPP
        // upgrade that renames the private method must fail here, not silently.
        assertTrue(ResidentMemoryWatch.trims());
    }

    @Test
    void noCapMeansNoThread() {
        try (ResidentMemoryWatch watch = ResidentMemoryWatch.start(0)) {
            assertFalse(watch.running());
        }
    }

    @Test
    void aRealCapStartsADaemonThreadThatCloseStops() {
        ResidentMemoryWatch watch = ResidentMemoryWatch.start(rss() + (4L << 30));
        try {
            assertTrue(watch.running());
        } finally {
            watch.close();
        }
        assertFalse(watch.running());
        assertEquals(0, watch.reliefs());
    }
}
