package io.bittensor.config;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's resident-memory cap ({@value MemoryBudget#MAX_RSS}), checked once a second on one
 * daemon thread: past the cap it runs a GC (which frees the native buffers of unreachable ND4J
 * arrays) and JavaCPP's malloc_trim (so the freed memory leaves the process), and logs a WARN at
 * most once a minute.
 * It replaces JavaCPP's {@value MemoryBudget#MAX_PHYSICAL_BYTES}, which reads the RSS at every
 * native allocation (up to a third of MNIST's training speed, docs/benchmarks.md). The hard bound on ND4J's arrays stays
 * JavaCPP's {@value MemoryBudget#MAX_BYTES}; this cap is a trigger, so RSS can pass it between
 * checks. Where {@code /proc/self/status} is absent (not Linux) it does nothing and says so once.
 */
public final class ResidentMemoryWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ResidentMemoryWatch.class);
    static final Path STATUS = Path.of("/proc/self/status");
    static final long PERIOD_MILLIS = 1000;
    static final long WARN_INTERVAL_MILLIS = 60_000;
    /** While GCs do not bring RSS under the cap, they back off to one per this many milliseconds. */
    static final long MAX_BACKOFF_MILLIS = 32_000;

    private final long capBytes;
    private final LongSupplier rss;
    private final Runnable relief;
    private final LongSupplier clockMillis;
    private final Consumer<String> warn;
    private final long periodMillis;
    private final Thread thread;
    private volatile boolean closed;
    private long nextReliefAt = Long.MIN_VALUE;
    private long backoffMillis;
    private long nextWarnAt = Long.MIN_VALUE;
    private long reliefs;

    ResidentMemoryWatch(long capBytes, LongSupplier rss, Runnable relief, LongSupplier clockMillis,
            Consumer<String> warn, long periodMillis) {
        this.capBytes = capBytes;
        this.rss = rss;
        this.relief = relief;
        this.clockMillis = clockMillis;
        this.warn = warn;
        this.periodMillis = Math.max(periodMillis, 1);
        this.backoffMillis = this.periodMillis;
        this.thread = periodMillis <= 0 ? null : new Thread(() -> loop(periodMillis), "resident-memory-watch");
        if (thread != null) {
            thread.setDaemon(true);
        }
    }

    /**
     * Starts watching the process's RSS against {@code capBytes}; 0 (no cap) or no
     * {@code /proc/self/status} gives a watch that does nothing.
     */
    public static ResidentMemoryWatch start(long capBytes) {
        if (capBytes <= 0) {
            return new ResidentMemoryWatch(0, () -> -1, () -> {}, System::currentTimeMillis, LOG::warn, 0);
        }
        if (readRss(STATUS) < 0) {
            LOG.info("process RSS cap {} MiB not watched: {} is not readable here (not Linux)", capBytes >> 20, STATUS);
            return new ResidentMemoryWatch(0, () -> -1, () -> {}, System::currentTimeMillis, LOG::warn, 0);
        }
        ResidentMemoryWatch watch = new ResidentMemoryWatch(capBytes, () -> readRss(STATUS),
                ResidentMemoryWatch::collect, System::currentTimeMillis, LOG::warn, PERIOD_MILLIS);
        return watch.begin();
    }

    /** Starts the watching thread (tests build a watch with their own readings, relief and clock). */
    ResidentMemoryWatch begin() {
        thread.start();
        return this;
    }

    /** Whether a thread is watching (false for no cap, no /proc, or once closed). */
    public boolean running() {
        return thread != null && thread.isAlive();
    }

    /** How many times the cap was passed and a GC run. */
    public synchronized long reliefs() {
        return reliefs;
    }

    /** One check: past the cap (and not backing off), run the relief and maybe warn. */
    synchronized void check() {
        long bytes = rss.getAsLong();
        if (bytes < 0 || bytes <= capBytes) {
            backoffMillis = periodMillis;
            nextReliefAt = Long.MIN_VALUE;
            return;
        }
        long now = clockMillis.getAsLong();
        if (now < nextReliefAt) {
            return;
        }
        relief.run();
        reliefs++;
        long after = rss.getAsLong();
        if (after > capBytes) { // the GC did not help: do not spend a full GC every second on it
            nextReliefAt = now + backoffMillis;
            backoffMillis = Math.min(2 * backoffMillis, MAX_BACKOFF_MILLIS);
        } else {
            backoffMillis = periodMillis;
            nextReliefAt = Long.MIN_VALUE;
        }
        if (now >= nextWarnAt) {
            nextWarnAt = now + WARN_INTERVAL_MILLIS;
            warn.accept(String.format(Locale.ROOT,
                    "process RSS %d MiB passed its cap %d MiB (-D%s): ran a GC, now %d MiB (%d GCs so far;"
                            + " this line at most once a minute)",
                    bytes >> 20, capBytes >> 20, MemoryBudget.MAX_RSS, Math.max(after, 0) >> 20, reliefs));
        }
    }

    private void loop(long periodMillis) {
        while (!closed) {
            try {
                Thread.sleep(periodMillis);
            } catch (InterruptedException e) {
                return; // closed
            }
            try {
                check();
            } catch (RuntimeException e) { // a watch must not die of one odd read
                LOG.debug("RSS check failed", e);
            }
        }
    }

    /**
     * What JavaCPP itself runs past its limits: a GC (unreachable ND4J arrays' memory is freed after
     * it), then its malloc_trim, without which the freed memory stays in malloc's arenas and RSS
     * does not fall (measured: docs/reliability.md).
     */
    private static void collect() {
        System.gc();
        try {
            Thread.sleep(100); // as JavaCPP does: the deallocator threads free the collected arrays meanwhile
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (Trim.METHOD != null) {
            try {
                Trim.METHOD.invoke(null);
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                LOG.debug("malloc_trim failed", e);
            }
        }
    }

    /** Whether the relief can hand freed memory back (JavaCPP's trimMemory was found). */
    static boolean trims() {
        return Trim.METHOD != null;
    }

    /**
     * JavaCPP's {@code Pointer.trimMemory()} (private in 1.5.7, the version ND4J M2.1 pins); null if
     * absent. Looked up at the first relief, never before: JavaCPP reads its limits when
     * {@code Pointer} initialises, which must come after {@link MemoryBudget#applyDefaults()}.
     */
    private static final class Trim {
        static final Method METHOD = find();

        private static Method find() {
            try {
                Method m = Class.forName("org.bytedeco.javacpp.Pointer", false, ResidentMemoryWatch.class.getClassLoader())
                        .getDeclaredMethod("trimMemory");
                m.setAccessible(true);
                return m;
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                LOG.debug("JavaCPP's trimMemory not available: a GC only", e);
                return null;
            }
        }
    }

    /** VmRSS of a /proc status file in bytes; -1 if it cannot be read. */
    static long readRss(Path status) {
        try {
            for (String line : Files.readAllLines(status, StandardCharsets.US_ASCII)) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) << 10; // kB
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    @Override
    public void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
