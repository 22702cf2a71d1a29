package io.bittensor.examples.cifar;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads an image-folder tree {@code [prefix/]{train,test}/<class>/*.jpg|png}, from a folder or a
 * {@code .tar.gz}. Classes are the folder names in sorted order (as torchvision's ImageFolder),
 * which for CIFAR-10 is its label order; train and test must name the same classes. Every image
 * must be 32×32.
 */
public final class ImageFolder {
    /** Largest image file accepted (a 32×32 image is a few kB). */
    static final int MAX_FILE_BYTES = 1 << 20;
    /** Most images per split: 3 kB of heap each. */
    static final int MAX_IMAGES = 200_000;

    private ImageFolder() {
    }

    /** Both splits of the tree at {@code path} (a folder or a .tar.gz). */
    public static CifarData load(Path path) {
        Map<String, Map<String, List<byte[]>>> files = Files.isDirectory(path) ? readFolder(path) : readTar(path);
        return toData(path, files);
    }

    private static boolean isImage(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png");
    }

    /** split → class → encoded images. */
    private static Map<String, Map<String, List<byte[]>>> empty() {
        Map<String, Map<String, List<byte[]>>> m = new TreeMap<>();
        m.put("train", new TreeMap<>());
        m.put("test", new TreeMap<>());
        return m;
    }

    /** Files whose last three path parts are split/class/file. */
    private static void add(Map<String, Map<String, List<byte[]>>> files, Path where, String[] parts, byte[] bytes) {
        if (parts.length < 3 || !isImage(parts[parts.length - 1])) {
            return;
        }
        Map<String, List<byte[]>> split = files.get(parts[parts.length - 3]);
        if (split == null) {
            return;
        }
        List<byte[]> list = split.computeIfAbsent(parts[parts.length - 2], k -> new ArrayList<>());
        if (list.size() >= MAX_IMAGES) {
            throw new CifarDataException(where + ": more than " + MAX_IMAGES + " images in one class");
        }
        list.add(bytes);
    }

    private static Map<String, Map<String, List<byte[]>>> readFolder(Path root) {
        Map<String, Map<String, List<byte[]>>> files = empty();
        try (Stream<Path> walk = Files.walk(root, 6)) {
            for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile).sorted()::iterator) {
                if (!isImage(p.getFileName().toString())) {
                    continue;
                }
                if (Files.size(p) > MAX_FILE_BYTES) {
                    throw new CifarDataException(p + ": image file larger than " + MAX_FILE_BYTES + " bytes");
                }
                Path rel = root.relativize(p);
                String[] parts = new String[rel.getNameCount()];
                for (int i = 0; i < parts.length; i++) {
                    parts[i] = rel.getName(i).toString();
                }
                add(files, p, parts, Files.readAllBytes(p));
            }
        } catch (IOException e) {
            throw new CifarDataException("cannot read image folder " + root + ": " + e.getMessage(), e);
        }
        return files;
    }

    private static Map<String, Map<String, List<byte[]>>> readTar(Path archive) {
        Map<String, Map<String, List<byte[]>>> files = empty();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
                TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (!e.isFile() || !isImage(e.getName())) {
                    continue;
                }
                if (e.getSize() > MAX_FILE_BYTES) {
                    throw new CifarDataException(archive + ": " + e.getName() + " is larger than " + MAX_FILE_BYTES + " bytes");
                }
                add(files, archive, e.getName().split("/"), readEntry(tar, (int) e.getSize()));
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new CifarDataException(archive + " is not a readable .tar.gz: " + e.getMessage(), e);
        }
        return files;
    }

    private static byte[] readEntry(InputStream in, int size) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(size, 16));
        in.transferTo(out);
        return out.toByteArray();
    }

    private static CifarData toData(Path path, Map<String, Map<String, List<byte[]>>> files) {
        Map<String, List<byte[]>> train = files.get("train");
        Map<String, List<byte[]>> test = files.get("test");
        if (train.isEmpty() || test.isEmpty()) {
            throw new CifarDataException(path + " has no images under train/<class>/ and test/<class>/"
                    + " (expected [prefix/]{train,test}/<class>/*.jpg|png)");
        }
        if (!train.keySet().equals(test.keySet())) {
            throw new CifarDataException(path + ": train and test name different classes: train " + train.keySet()
                    + ", test " + test.keySet());
        }
        if (train.size() > CifarImages.CLASSES) {
            throw new CifarDataException(path + " has " + train.size() + " classes; the model has "
                    + CifarImages.CLASSES + " outputs");
        }
        List<String> classes = List.copyOf(train.keySet());
        return new CifarData(decode(path, "train", train, classes), decode(path, "test", test, classes));
    }

    private static CifarSplit decode(Path path, String name, Map<String, List<byte[]>> byClass, List<String> classes) {
        int n = byClass.values().stream().mapToInt(List::size).sum();
        if (n > MAX_IMAGES) {
            throw new CifarDataException(path + ": more than " + MAX_IMAGES + " " + name + " images");
        }
        byte[] pixels = new byte[n * CifarImages.PIXELS];
        byte[] labels = new byte[n];
        int[][] slots = interleaved(classes.stream().mapToInt(c -> byClass.get(c).size()).toArray());
        List<byte[]> encoded = new ArrayList<>(n);
        List<String> where = new ArrayList<>(n);
        int[] slotOf = new int[n];
        for (int c = 0; c < classes.size(); c++) {
            List<byte[]> images = byClass.get(classes.get(c));
            for (int k = 0; k < images.size(); k++) {
                slotOf[encoded.size()] = slots[c][k];
                labels[slots[c][k]] = (byte) c;
                encoded.add(images.get(k));
                where.add(classes.get(c) + " image " + k);
            }
        }
        // JPEG decoding is most of the loading time: one image per task, on every core.
        IntStream.range(0, n).parallel().forEach(j -> {
            BufferedImage img = read(path, name, where.get(j), encoded.get(j));
            if (img.getWidth() != CifarImages.SIZE || img.getHeight() != CifarImages.SIZE) {
                throw new CifarDataException(path + ": " + name + "/" + where.get(j) + " is "
                        + img.getWidth() + "×" + img.getHeight() + "; CIFAR images must be 32×32");
            }
            int[] argb = img.getRGB(0, 0, CifarImages.SIZE, CifarImages.SIZE, null, 0, CifarImages.SIZE);
            int base = slotOf[j] * CifarImages.PIXELS;
            int plane = CifarImages.SIZE * CifarImages.SIZE;
            for (int p = 0; p < plane; p++) {
                int v = argb[p];
                pixels[base + p] = (byte) (v >> 16);
                pixels[base + plane + p] = (byte) (v >> 8);
                pixels[base + 2 * plane + p] = (byte) v;
            }
        });
        byClass.replaceAll((cls, images) -> List.of()); // let the encoded bytes go
        return new CifarSplit(pixels, labels, classes);
    }

    /**
     * Where image {@code k} of class {@code c} goes: classes take turns (image 0 of every class,
     * then image 1, …), so the first n images of a split (--train_limit, tests) hold every class.
     */
    static int[][] interleaved(int[] counts) {
        int[][] slots = new int[counts.length][];
        int longest = 0;
        for (int c = 0; c < counts.length; c++) {
            slots[c] = new int[counts[c]];
            longest = Math.max(longest, counts[c]);
        }
        int i = 0;
        for (int k = 0; k < longest; k++) {
            for (int c = 0; c < counts.length; c++) {
                if (k < counts[c]) {
                    slots[c][k] = i++;
                }
            }
        }
        return slots;
    }

    private static BufferedImage read(Path path, String split, String image, byte[] bytes) {
        try {
            // An in-memory stream: ImageIO's default for a plain InputStream caches through a temporary file.
            BufferedImage img = ImageIO.read(new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes)));
            if (img == null) {
                throw new CifarDataException(path + ": " + split + "/" + image + " is not a JPEG or PNG");
            }
            return img;
        } catch (IOException | RuntimeException e) {
            if (e instanceof CifarDataException c) {
                throw c;
            }
            throw new CifarDataException(path + ": " + split + "/" + image + " is corrupt: " + e.getMessage(), e);
        }
    }
}
