package io.bittensor.config;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses which ND4J native build JavaCPP loads, before ND4J starts.
 *
 * <p>The oneDNN/AVX2 build trains small conv nets about four times faster than the plain one, but
 * crashes on CPUs without AVX2. JavaCPP picks the build from the system property
 * {@value #PROPERTY}; a launcher that does not pass it gets whatever JavaCPP finds first. Call
 * {@link #selectFastest()} first thing in a {@code main}: it keeps an explicit setting, and
 * otherwise picks the fastest build that is on the classpath and that this CPU can run.
 */
public final class NativeBackend {
    /** JavaCPP's system property naming the platform extension (for example "-onednn-avx2"). */
    public static final String PROPERTY = "org.bytedeco.javacpp.platform.extension";

    private static final Logger LOG = LoggerFactory.getLogger(NativeBackend.class);
    private static final String BINDINGS = "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64%s/libjnind4jcpu.so";

    /** A native build and the CPU flags it needs, fastest first. */
    private record Candidate(String extension, List<String> cpuFlags) {}

    private static final List<Candidate> CANDIDATES = List.of(
            new Candidate("-onednn-avx512", List.of("avx512f", "avx512bw", "avx512dq", "avx512vl")),
            new Candidate("-onednn-avx2", List.of("avx2", "fma")),
            new Candidate("-onednn", List.of()),
            new Candidate("-avx512", List.of("avx512f", "avx512bw", "avx512dq", "avx512vl")),
            new Candidate("-avx2", List.of("avx2", "fma")),
            new Candidate("", List.of()));

    private NativeBackend() {}

    /**
     * Sets {@value #PROPERTY} to the fastest usable build unless it is already set.
     *
     * @return the extension in force afterwards ("" = the plain build)
     */
    public static String selectFastest() {
        String preset = System.getProperty(PROPERTY);
        if (preset != null) {
            return preset;
        }
        if (!isLinuxX86_64()) {
            return "";
        }
        ClassLoader loader = NativeBackend.class.getClassLoader();
        Optional<String> chosen = choose(cpuFlags(Path.of("/proc/cpuinfo")),
                ext -> loader.getResource(String.format(Locale.ROOT, BINDINGS, ext)) != null);
        chosen.ifPresent(ext -> {
            System.setProperty(PROPERTY, ext);
            LOG.debug("ND4J native build: linux-x86_64{}", ext);
        });
        return chosen.orElse("");
    }

    /**
     * The first candidate build that is available and whose CPU flags are all present.
     *
     * @param cpuFlags   flags of this CPU as /proc/cpuinfo names them
     * @param available  whether the native build with that extension is on the classpath
     */
    static Optional<String> choose(Set<String> cpuFlags, Predicate<String> available) {
        return CANDIDATES.stream()
                .filter(c -> cpuFlags.containsAll(c.cpuFlags()))
                .map(Candidate::extension)
                .filter(available)
                .findFirst();
    }

    /** CPU flags from a /proc/cpuinfo style file; empty if it cannot be read. */
    static Set<String> cpuFlags(Path cpuinfo) {
        try {
            return Files.readAllLines(cpuinfo).stream()
                    .filter(l -> l.startsWith("flags"))
                    .findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .map(s -> (Set<String>) new HashSet<>(Arrays.asList(s.split("\\s+"))))
                    .orElse(Set.of());
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    private static boolean isLinuxX86_64() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        return os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    /**
     * Drops the lines ND4J M2.1 prints straight to {@code System.out} (one "Added differentiated
     * op ..." per op whenever a gradient function is built, and its build banner), which would
     * otherwise bury a program's own output. Opt-in, for mains; idempotent.
     */
    public static synchronized void filterNd4jStdoutNoise() {
        if (System.out instanceof NoiseFilter) {
            return;
        }
        System.setOut(new NoiseFilter(System.out));
    }

    private static final Pattern NOISE = Pattern.compile(
            "^(Added differentiated op .*|\\s*GCC: .*|STD version: .*|DEFAULT_ENGINE: .*|HAVE_[A-Z0-9_]+|"
                    + "Set used engine to .*)$");

    /** A line-buffered PrintStream that forwards every line except ND4J's noise. */
    private static final class NoiseFilter extends PrintStream {
        NoiseFilter(PrintStream target) {
            super(new LineFilter(target), true, Charset.defaultCharset());
        }
    }

    private static final class LineFilter extends OutputStream {
        private final PrintStream target;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        LineFilter(PrintStream target) {
            this.target = target;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                String s = bytes.toString(Charset.defaultCharset());
                bytes.reset();
                if (!NOISE.matcher(s).matches()) {
                    target.println(s);
                }
            } else {
                bytes.write(b);
            }
        }

        @Override
        public synchronized void flush() {
            target.flush();
        }
    }

    /** For log lines: the chosen extension in words. */
    public static String describe() {
        String ext = System.getProperty(PROPERTY, "");
        return "linux-x86_64" + ext;
    }
}
