package io.bittensor.transport;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Counts errors caused by peers' input and logs them at a bounded rate: at most one line per
 * interval for all kinds together, saying how many of each kind happened since the last line and
 * what the latest was. Never a stack trace: a peer's bad input is not our bug, and a stranger must
 * not be able to fill the disk. (Our own failures keep logging in full where they happen.)
 *
 * <p>Kinds come from a fixed vocabulary in our code ("malformed request", "Forward BAD_SHAPE",
 * ...); at most {@link #MAX_KINDS} are tracked, the rest count as "other". Details come from
 * peers and are cleaned (control characters replaced, length capped) before they are logged.
 */
public final class PeerErrorLog {
    public static final int MAX_KINDS = 64;
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(1);
    private static final int MAX_DETAIL = 200;

    private final Logger log;
    private final long intervalNanos;
    private final LongSupplier nanoClock;
    private final Map<String, Counter> kinds = new ConcurrentHashMap<>();
    /** When the last line was logged; an interval ago at first, so the first error logs at once. */
    private final AtomicLong lastLine;

    private static final class Counter {
        final AtomicLong total = new AtomicLong();
        final AtomicLong sinceLine = new AtomicLong();
    }

    public PeerErrorLog(Logger log, Duration interval, LongSupplier nanoClock) {
        this.log = Objects.requireNonNull(log, "log");
        if (interval.isNegative()) {
            throw new IllegalArgumentException("interval must be >= 0: " + interval);
        }
        this.intervalNanos = interval.toNanos();
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.lastLine = new AtomicLong(nanoClock.getAsLong() - intervalNanos);
    }

    /** One line per minute, on the system's monotonic clock. */
    public PeerErrorLog(Logger log) {
        this(log, DEFAULT_INTERVAL, System::nanoTime);
    }

    /**
     * Counts one error of {@code kind}; logs a summary line of every kind counted since the last
     * line if that line is at least an interval old (the very first error logs at once).
     */
    public void record(String kind, String detail) {
        long now = nanoClock.getAsLong();
        Counter c = counter(kind);
        c.total.incrementAndGet();
        c.sinceLine.incrementAndGet();
        long last = lastLine.get();
        if (now - last >= intervalNanos && lastLine.compareAndSet(last, now)) {
            log.warn("peer errors in the last {} s: {} (latest: {}: {})",
                    Math.max(1, Math.round(Math.min(now - last, intervalNanos) / 1e9)),
                    takeCounts(), kind, clean(detail));
        }
    }

    /** "kind xN, kind xM" of the errors since the last line (sorted by kind), resetting them. */
    private String takeCounts() {
        StringBuilder b = new StringBuilder();
        new TreeMap<>(kinds).forEach((k, c) -> {
            long n = c.sinceLine.getAndSet(0);
            if (n > 0) {
                b.append(b.length() == 0 ? "" : ", ").append(k).append(" x").append(n);
            }
        });
        return b.toString();
    }

    private Counter counter(String kind) {
        Counter c = kinds.get(kind);
        if (c != null) {
            return c;
        }
        String k = kinds.size() >= MAX_KINDS ? "other" : kind;
        return kinds.computeIfAbsent(k, x -> new Counter());
    }

    /** Errors counted so far, by kind (a snapshot, sorted by kind). */
    public Map<String, Long> counts() {
        Map<String, Long> out = new TreeMap<>();
        kinds.forEach((k, c) -> out.put(k, c.total.get()));
        return out;
    }

    /** Errors counted so far, all kinds. */
    public long total() {
        return kinds.values().stream().mapToLong(c -> c.total.get()).sum();
    }

    /**
     * A peer-supplied string made safe for one log line: control characters (newlines that could
     * forge log lines, terminal escapes) become '?', and it is cut to 200 characters.
     */
    public static String clean(String s) {
        if (s == null) {
            return "null";
        }
        int n = Math.min(s.length(), MAX_DETAIL);
        StringBuilder b = new StringBuilder(n + 1);
        for (int i = 0; i < n; i++) {
            char ch = s.charAt(i);
            b.append(Character.isISOControl(ch) || Character.getType(ch) == Character.FORMAT ? '?' : ch);
        }
        if (s.length() > MAX_DETAIL) {
            b.append('…');
        }
        return b.toString();
    }
}
