package io.bittensor.config;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory a running neuron may use, stated and enforced: the Java heap ({@code -Xmx}), ND4J's
 * off-heap arrays (JavaCPP's {@value #MAX_BYTES}) and the whole process's resident memory, past
 * which JavaCPP refuses new native allocations after a GC ({@value #MAX_PHYSICAL_BYTES}).
 * Native memory is not bounded by {@code -Xmx}: without these limits ND4J's arrays, freed only
 * when the GC finds their owners, grow with the heap limit (ND4J-NOTES.md; docs/reliability.md).
 *
 * <p>Call {@link #applyDefaults()} first thing in a {@code main}, before anything touches ND4J:
 * it keeps limits given on the command line and fills in the defaults for the others. The heap
 * limit cannot be set from inside a running JVM: launchers pass {@code -Xmx} (start_bittensor.sh,
 * the Dockerfile), and {@link #describe()} warns when the heap limit is above the default budget.
 */
public final class MemoryBudget {
    public static final String MAX_BYTES = "org.bytedeco.javacpp.maxbytes";
    public static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxphysicalbytes";

    /** The default budget: what start_bittensor.sh and the Dockerfile pass. */
    public static final long DEFAULT_HEAP = 512L << 20;
    public static final long DEFAULT_NATIVE = 512L << 20;
    /**
     * JavaCPP checks this only when it allocates, so RSS overshoots it between GCs (by ~60 MiB in
     * the soak, docs/reliability.md): 1.25 GiB keeps a neuron under its stated 1.5 GiB.
     */
    public static final long DEFAULT_PHYSICAL = 1280L << 20;

    private static final Logger LOG = LoggerFactory.getLogger(MemoryBudget.class);

    private final long heapBytes;
    private final long nativeBytes;
    private final long physicalBytes;

    private MemoryBudget(long heapBytes, long nativeBytes, long physicalBytes) {
        this.heapBytes = heapBytes;
        this.nativeBytes = nativeBytes;
        this.physicalBytes = physicalBytes;
    }

    /**
     * Sets ND4J's native limits to the defaults unless given ({@code -D...}); returns the budget
     * in force. Must run before JavaCPP's {@code Pointer} class loads (it reads them once).
     */
    public static MemoryBudget applyDefaults() {
        return applyDefaults(DEFAULT_NATIVE, DEFAULT_PHYSICAL);
    }

    /**
     * As {@link #applyDefaults()}, with a neuron's own defaults for the two JavaCPP limits (a model
     * whose training step needs more than the default budget).
     */
    public static MemoryBudget applyDefaults(long nativeBytes, long physicalBytes) {
        setIfAbsent(MAX_BYTES, nativeBytes);
        setIfAbsent(MAX_PHYSICAL_BYTES, physicalBytes);
        return current();
    }

    /** The budget as configured: heap limit of this JVM, and the two JavaCPP properties (0 = none). */
    public static MemoryBudget current() {
        return new MemoryBudget(Runtime.getRuntime().maxMemory(), property(MAX_BYTES), property(MAX_PHYSICAL_BYTES));
    }

    private static void setIfAbsent(String key, long bytes) {
        if (System.getProperty(key) == null && System.getProperty(camel(key)) == null) {
            System.setProperty(key, Long.toString(bytes));
        }
    }

    /** JavaCPP also reads the camel-case spelling (maxBytes, maxPhysicalBytes). */
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

    /** Resident memory of the process at most, enforced at native allocations; 0 = no limit. */
    public long physicalBytes() {
        return physicalBytes;
    }

    /** One line for the start-up log; warns when a limit is missing or the heap is above the default. */
    public String describe() {
        String line = String.format(Locale.ROOT,
                "memory budget: heap %s (-Xmx), ND4J native %s (-D%s), process RSS %s (-D%s)",
                mib(heapBytes), mib(nativeBytes), MAX_BYTES, mib(physicalBytes), MAX_PHYSICAL_BYTES);
        if (heapBytes > 2 * DEFAULT_HEAP) {
            line += "; the heap limit is the JVM's default, not the budget: start with -Xmx"
                    + (DEFAULT_HEAP >> 20) + "m (start_bittensor.sh does)";
        }
        return line;
    }

    /** Logs {@link #describe()} at INFO (WARN when a limit is missing or the heap is above it). */
    public MemoryBudget log() {
        if (nativeBytes == 0 || physicalBytes == 0 || heapBytes > 2 * DEFAULT_HEAP) {
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
