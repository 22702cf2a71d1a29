package io.bittensor.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {
    @TempDir
    Path dir;

    private final Clock clock = Clock.fixed(Instant.ofEpochMilli(1_600_000_000_000L), ZoneOffset.UTC);

    @Test
    void appendsRowsAcrossReopeningWithOneHeader() throws IOException {
        try (MetricsLog log = MetricsLog.open(dir, clock)) {
            log.append(MetricsLog.Phase.TRAIN, 1, 10, 0.5, 0.8, 2, 0.75, 100);
        }
        try (MetricsLog log = MetricsLog.open(dir, clock)) {
            log.append(MetricsLog.Phase.TEST, 1, 10, 0.4, 0.9, 0, Double.NaN, 0);
            List<MetricsLog.Row> rows = log.rows();
            assertEquals(List.of(
                    new MetricsLog.Row(1_600_000_000_000L, MetricsLog.Phase.TRAIN, 1, 10, 0.5, 0.8, 2, 0.75, 100),
                    new MetricsLog.Row(1_600_000_000_000L, MetricsLog.Phase.TEST, 1, 10, 0.4, 0.9, 0, Double.NaN, 0)), rows);
        }
        List<String> lines = Files.readAllLines(dir.resolve(MetricsLog.FILE));
        assertEquals(3, lines.size());
        assertEquals(MetricsLog.HEADER, lines.get(0));
    }

    @Test
    void refusesAForeignCsv() throws IOException {
        Files.writeString(dir.resolve(MetricsLog.FILE), "a,b,c\n1,2,3\n");
        IOException e = assertThrows(IOException.class, () -> MetricsLog.open(dir, clock));
        assertTrue(e.getMessage().contains("--logdir"), e.getMessage());
    }

    @Test
    void drawsThreePngPlots() throws IOException {
        try (MetricsLog log = MetricsLog.open(dir, clock)) {
            for (int step = 0; step < 30; step++) {
                log.append(MetricsLog.Phase.TRAIN, step / 10, step, 2.0 / (1 + step), step / 30.0, step % 4,
                        step < 5 ? Double.NaN : 0.9, step * 7L);
            }
            log.append(MetricsLog.Phase.TEST, 2, 29, 0.1, 0.97, 0, Double.NaN, 0);
            List<Path> plots = log.plot();
            assertEquals(List.of(dir.resolve("loss.png"), dir.resolve("accuracy.png"), dir.resolve("network.png")), plots);
            for (Path p : plots) {
                BufferedImage img = ImageIO.read(p.toFile());
                assertNotNull(img, p + " is not a readable image");
                assertEquals(800, img.getWidth());
            }
        }
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")));
        }
    }
}
