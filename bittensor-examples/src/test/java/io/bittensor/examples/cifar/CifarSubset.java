package io.bittensor.examples.cifar;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * A few real CIFAR-10 images for integration tests: the first N of each class of each split of
 * {@code shared/datasets/cifar-10-jpeg.tar.gz}, copied as an image-folder tree.
 */
public final class CifarSubset {
    private static final String ARCHIVE = "shared/datasets/cifar-10-jpeg.tar.gz";

    private CifarSubset() {
    }

    /** The real archive: {@code shared/datasets/...} beside the build's directory or one of its parents. */
    public static Path archive() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve(ARCHIVE);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
            Path sibling = p.resolveSibling(ARCHIVE);
            if (p.getParent() != null && Files.isRegularFile(sibling)) {
                return sibling;
            }
        }
        throw new IllegalStateException(ARCHIVE + " not found above " + Path.of("").toAbsolutePath());
    }

    /**
     * Writes {@code dir/{train,test}/<class>/<file>.jpg} with the first {@code trainPerClass} and
     * {@code testPerClass} images of each class, and returns {@code dir}.
     */
    public static Path extract(Path dir, int trainPerClass, int testPerClass) throws IOException {
        Map<String, Integer> taken = new HashMap<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(archive()), 1 << 16);
                TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                String[] parts = e.getName().split("/");
                if (!e.isFile() || parts.length < 3) {
                    continue;
                }
                String split = parts[parts.length - 3];
                String cls = parts[parts.length - 2];
                int limit = split.equals("train") ? trainPerClass : split.equals("test") ? testPerClass : 0;
                String key = split + "/" + cls;
                int n = taken.getOrDefault(key, 0);
                if (n >= limit) {
                    continue;
                }
                Path target = dir.resolve(split).resolve(cls).resolve(parts[parts.length - 1]);
                Files.createDirectories(target.getParent());
                Files.write(target, tar.readAllBytes());
                taken.put(key, n + 1);
            }
        }
        return dir;
    }
}
