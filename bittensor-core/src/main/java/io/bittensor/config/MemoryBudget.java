package io.bittensor.config;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory a running neuron may use, stated and enforced: the Java heap ({@code -Xmx}), ND4J's
 * off-heap arrays (JavaCPP's {@value #MAX_BYTES}, the hard bound: past it an allocation forces a
 * GC, then fails) and the whole process's resident memory ({@value #MAX_RSS}: a
 * {@link ResidentMemoryWatch} checks it once a second and runs a GC past it). Native memory is not
 * bounded by {@code -Xmx}: without these limits ND4J's arrays, freed only when the GC finds their
 * owners, grow with the heap limit (ND4J-NOTES.md; docs/reliability.md).
 *
 * <p>JavaCPP's own resident check ({@value #MAX_PHYSICAL_BYTES}) reads the process's RSS at every
 * native allocation, which cost up to a third of the MNIST neuron's speed (docs/benchmarks.md),
 * so it is off (0) unless given on the command line; given, it is kept (strict: allocations past
 * it fail) and the default {@value #MAX_RSS} is not added.
 *
 * <p>Call {@link #applyDefaults()} first thing in a {@code main}, before anything touches ND4J:
 * it keeps limits given on the command line and fills in the defaults for the others. The heap
 * limit cannot be set from inside a running JVM: launchers pass {@code -Xmx} (start_bittensor.sh,
 * the Dockerfile), and {@link #describe()} warns when the heap limit is above the default budget.
 */
public final class MemoryBudget {
    public static final String MAX_BYTES = "org.bytedeco.javacpp.maxbytes";
    public static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxphysicalbytes";
    /** Our process-RSS cap, watched once a second ({@link ResidentMemoryWatch}). */
    public static final String MAX_RSS = "bittensor.maxrss";

    /** The default budget: what start_bittensor.sh and the Dockerfile pass. */
    public static final long DEFAULT_HEAP = 512L << 20;
    public static final long DEFAULT_NATIVE = 512L << 20;
    /**
     * The RSS cap is a trigger for a GC, not a wall: RSS overshoots it between checks (docs/reliability.md),
     * so 1.25 GiB keeps a neuron under its stated 1.5 GiB.
     */
    public static final long DEFAULT_RSS = 1280L << 20;

    private static final Logger LOG = LoggerFactory.getLogger(MemoryBudget.class);

    private final long heapBytes;
    private final long nativeBytes;
    private final long physicalBytes;
    private final long rssBytes;

    private MemoryBudget(long heapBytes, long nativeBytes, long physicalBytes, long rssBytes) {
        this.heapBytes = heapBytes;
        this.nativeBytes = nativeBytes;
        this.physicalBytes = physicalBytes;
        this.rssBytes = rssBytes;
    }

    /**
     * Sets the native and RSS limits to the defaults unless given ({@code -D...}) and turns
     * JavaCPP's per-allocation RSS check off unless given; returns the budget in force. Must run
     * before JavaCPP's {@code Pointer} class loads (it reads its properties once).
     */
    public static MemoryBudget applyDefaults() {
        return applyDefaults(DEFAULT_NATIVE, DEFAULT_RSS);
    }

    /**
     * As {@link #applyDefaults()}, with a neuron's own defaults for ND4J's arrays and the process's
     * RSS (a model whose training step needs more than the default budget).
     */
    public static MemoryBudget applyDefaults(long nativeBytes, long rssBytes) {
        setIfAbsent(MAX_BYTES, nativeBytes);
        // JavaCPP's default when unset is maxbytes + 3 x heap: non-zero, so the costly check would run.
        setIfAbsent(MAX_PHYSICAL_BYTES, 0);
        if (property(MAX_PHYSICAL_BYTES) == 0 && System.getProperty(MAX_RSS) == null) {
            System.setProperty(MAX_RSS, Long.toString(rssBytes));
        }
        return current();
    }

    /** The budget as configured: heap limit of this JVM, the two JavaCPP properties and ours (0 = none). */
    public static MemoryBudget current() {
        return new MemoryBudget(Runtime.getRuntime().maxMemory(), property(MAX_BYTES), property(MAX_PHYSICAL_BYTES),
                property(MAX_RSS));
    }

    private static void setIfAbsent(String key, long bytes) {
        if (System.getProperty(key) == null && System.getProperty(camel(key)) == null) {
            System.setProperty(key, Long.toString(bytes));
        }
    }

    /** JavaCPP also reads the camel-case spelling (maxBytes, maxPhysicalBytes); ours has one. */
    private static String camel(String key) {
        return key.replace("maxbytes", "maxBytes").replace("maxphysicalbytes", "maxPhysicalBytes");
    }

    private static long property(String key) {
        String v = System.getProperty(camel(key), System.getProperty(key));
        return v == null ? 0 : parseSize(key, v);
    }

    /** JavaCPP's size syntax: a number with an optional k/m/g/t suffix (any case). */
    static long parseSize(String key, String v) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        char last = s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
        switch (last) {
            case 't' -> unit = 1L << 40;
            case 'g' -> unit = 1L << 30;
            case 'm' -> unit = 1L << 20;
            case 'k' -> unit = 1L << 10;
            default -> unit = 1;
        }
        String digits = unit == 1 ? s : s.substring(0, s.length() - 1);
        try {
            return Long.parseLong(digits.trim()) * unit;
        } catch (NumberFormatException e) {
            throw new ConfigException("-D" + key, "bad memory size '" + v + "' (a number with an optional k, m, g or t)");
        }
    }

    public long heapBytes() {
        return heapBytes;
    }

    /** ND4J off-heap arrays at most; 0 = no limit. */
    public long nativeBytes() {
        return nativeBytes;
    }

    /** JavaCPP's strict RSS limit, checked at every native allocation (slow); 0 = off. */
    public long physicalBytes() {
        return physicalBytes;
    }

    /** Our RSS cap, checked once a second by {@link ResidentMemoryWatch}; 0 = none. */
    public long rssBytes() {
        return rssBytes;
    }

    /** One line for the start-up log: each limit, where it is set, and which RSS check is on. */
    public String describe() {
        String rss = rssBytes > 0 ? String.format(Locale.ROOT, "process RSS %s (-D%s, checked once a second, GC past it)",
                mib(rssBytes), MAX_RSS) : "";
        String strict = physicalBytes > 0 ? String.format(Locale.ROOT,
                "process RSS %s (-D%s, checked at every native allocation)", mib(physicalBytes), MAX_PHYSICAL_BYTES) : "";
        String process = rss.isEmpty() && strict.isEmpty() ? "process RSS unbounded (-D" + MAX_RSS + ")"
                : rss.isEmpty() ? strict : strict.isEmpty() ? rss : rss + ", " + strict;
        String line = String.format(Locale.ROOT, "memory budget: heap %s (-Xmx), ND4J native %s (-D%s), %s",
                mib(heapBytes), mib(nativeBytes), MAX_BYTES, process);
        if (heapBytes > 2 * DEFAULT_HEAP) {
            line += "; the heap limit is the JVM's default, not the budget: start with -Xmx"
                    + (DEFAULT_HEAP >> 20) + "m (start_bittensor.sh does)";
        }
        return line;
    }

    /** Logs {@link #describe()} at INFO (WARN when a limit is missing or the heap is above it). */
    public MemoryBudget log() {
        if (nativeBytes == 0 || (physicalBytes == 0 && rssBytes == 0) || heapBytes > 2 * DEFAULT_HEAP) {
            LOG.warn(describe());
        } else {
            LOG.info(describe());
        }
        return this;
    }

    private static String mib(long bytes) {
        return bytes <= 0 ? "unbounded" : bytes == Long.MAX_VALUE ? "unbounded" : (bytes >> 20) + " MiB";
    }
}
