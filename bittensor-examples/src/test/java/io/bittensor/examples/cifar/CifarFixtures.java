package io.bittensor.examples.cifar;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/** Small CIFAR-shaped archives and folders, written by the tests themselves. */
final class CifarFixtures {
    private CifarFixtures() {
    }

    /** A .tar.gz with the given entries (name → bytes). */
    static void writeTarGz(Path file, Map<String, byte[]> entries) throws IOException {
        try (OutputStream out = Files.newOutputStream(file);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(out))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
                entry.setSize(e.getValue().length);
                tar.putArchiveEntry(entry);
                tar.write(e.getValue());
                tar.closeArchiveEntry();
            }
        }
    }

    /** One binary-release record: label, then pixel value (label·10 + i) mod 256 at position i. */
    static byte[] records(int first, int count) {
        byte[] b = new byte[count * CifarBinary.RECORD];
        for (int r = 0; r < count; r++) {
            int label = (first + r) % 10;
            b[r * CifarBinary.RECORD] = (byte) label;
            for (int i = 0; i < CifarImages.PIXELS; i++) {
                b[r * CifarBinary.RECORD + 1 + i] = (byte) (label * 10 + i);
            }
        }
        return b;
    }

    /** The release's layout with {@code perFile} records in each batch file. */
    static Map<String, byte[]> binaryRelease(int perFile) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("cifar-10-batches-bin/batches.meta.txt", "airplane\n".getBytes());
        for (int i = 1; i <= 5; i++) {
            m.put("cifar-10-batches-bin/data_batch_" + i + ".bin", records(i * perFile, perFile));
        }
        m.put("cifar-10-batches-bin/test_batch.bin", records(0, perFile));
        return m;
    }

    /** A size×size PNG filled with one colour. */
    static byte[] png(int size, int rgb) throws IOException {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
