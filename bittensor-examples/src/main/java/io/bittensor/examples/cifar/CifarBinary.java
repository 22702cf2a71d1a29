package io.bittensor.examples.cifar;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads the canonical CIFAR-10 binary release, {@code cifar-10-binary.tar.gz}: files
 * {@code data_batch_1.bin} … {@code data_batch_5.bin} (train) and {@code test_batch.bin} (test),
 * each a run of records of 1 label byte followed by 3 072 pixel bytes (R, G, B planes, row-major),
 * which is already this package's channel-major layout.
 */
public final class CifarBinary {
    public static final String FILE_NAME = "cifar-10-binary.tar.gz";
    /** Where the authors publish it. */
    public static final String URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
    public static final String MD5 = "c32a1d4ab5d03f1284b67883e8d87530";
    /** The size of the authors' archive, in bytes. */
    public static final long ARCHIVE_BYTES = 170_052_171L;

    static final int RECORD = 1 + CifarImages.PIXELS;
    static final int TRAIN_FILES = 5;
    private static final long MAX_FILE_BYTES = 10_000L * RECORD * 2;

    private CifarBinary() {
    }

    /** Whether a tar entry name is one of the release's batch files. */
    static boolean isBatchFile(String entryName) {
        String n = entryName.substring(entryName.lastIndexOf('/') + 1);
        return n.equals("test_batch.bin") || n.matches("data_batch_[1-5]\\.bin");
    }

    /** Both splits from the archive. */
    public static CifarData load(Path archive) {
        Map<String, byte[]> files = new TreeMap<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
                TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (!e.isFile() || !isBatchFile(e.getName())) {
                    continue;
                }
                if (e.getSize() > MAX_FILE_BYTES) {
                    throw new CifarDataException(archive + ": " + e.getName() + " is larger than a CIFAR-10 batch");
                }
                files.put(e.getName().substring(e.getName().lastIndexOf('/') + 1), tar.readAllBytes());
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new CifarDataException(archive + " is not a readable .tar.gz: " + e.getMessage(), e);
        }
        if (!files.containsKey("test_batch.bin")) {
            throw new CifarDataException(archive + " has no test_batch.bin: not the CIFAR-10 binary release");
        }
        for (int i = 1; i <= TRAIN_FILES; i++) {
            if (!files.containsKey("data_batch_" + i + ".bin")) {
                throw new CifarDataException(archive + " has no data_batch_" + i + ".bin: the archive is incomplete");
            }
        }
        byte[][] train = new byte[TRAIN_FILES][];
        for (int i = 0; i < TRAIN_FILES; i++) {
            train[i] = files.get("data_batch_" + (i + 1) + ".bin");
        }
        return new CifarData(split(archive, train), split(archive, new byte[][] {files.get("test_batch.bin")}));
    }

    private static CifarSplit split(Path archive, byte[][] parts) {
        int n = 0;
        for (byte[] p : parts) {
            if (p.length == 0 || p.length % RECORD != 0) {
                throw new CifarDataException(archive + ": a batch file of " + p.length + " bytes is not a whole number of "
                        + RECORD + "-byte records");
            }
            n += p.length / RECORD;
        }
        byte[] pixels = new byte[n * CifarImages.PIXELS];
        byte[] labels = new byte[n];
        int i = 0;
        for (byte[] p : parts) {
            for (int off = 0; off < p.length; off += RECORD, i++) {
                labels[i] = p[off];
                if (labels[i] < 0 || labels[i] >= CifarImages.CLASSES) {
                    throw new CifarDataException(archive + ": record " + i + " has label " + (p[off] & 0xFF)
                            + "; CIFAR-10 labels are 0–9");
                }
                System.arraycopy(p, off + 1, pixels, i * CifarImages.PIXELS, CifarImages.PIXELS);
            }
        }
        return new CifarSplit(pixels, labels, CifarImages.CLASS_NAMES);
    }

    /**
     * Whether the .tar.gz holds the binary release rather than image folders: reads entry names up
     * to the first batch file or image.
     */
    static boolean looksBinary(Path archive) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
                TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (isBatchFile(e.getName())) {
                    return true;
                }
                String n = e.getName().toLowerCase(java.util.Locale.ROOT);
                if (n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png")) {
                    return false;
                }
            }
            return false;
        } catch (IOException | IllegalArgumentException e) {
            throw new CifarDataException(archive + " is not a readable .tar.gz: " + e.getMessage(), e);
        }
    }

}
