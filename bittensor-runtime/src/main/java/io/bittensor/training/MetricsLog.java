package io.bittensor.training;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training metrics appended as CSV rows to {@code <logdir>/metrics.csv} (kept across restarts),
 * and drawn as PNG plots beside it ({@link #plot()}, at the end of each epoch): loss, accuracy,
 * and the network figures (peers known, remote call success rate, requests served).
 *
 * <p>Rows are flushed as they are written, so a crash loses nothing already logged. Plots are
 * written to a temporary file and renamed, so a viewer never reads half an image. Not
 * thread-safe: the training thread owns it.
 */
public final class MetricsLog implements AutoCloseable {
    public static final String FILE = "metrics.csv";
    public static final String HEADER =
            "time_ms,phase,epoch,step,loss,accuracy,peers_known,remote_success_rate,requests_served";

    private static final Logger LOG = LoggerFactory.getLogger(MetricsLog.class);

    /** Whether a row measures training (running figures) or a test-set evaluation. */
    public enum Phase { TRAIN, TEST }

    /**
     * One row.
     *
     * @param remoteSuccessRate fraction of remote calls that succeeded, in [0,1]; NaN if none were made
     */
    public record Row(long timeMs, Phase phase, int epoch, long step, double loss, double accuracy,
            int peersKnown, double remoteSuccessRate, long requestsServed) {

        String toCsv() {
            return String.format(Locale.ROOT, "%d,%s,%d,%d,%s,%s,%d,%s,%d", timeMs, phase.name().toLowerCase(Locale.ROOT),
                    epoch, step, num(loss), num(accuracy), peersKnown, num(remoteSuccessRate), requestsServed);
        }

        static Row parse(String line) {
            String[] f = line.split(",", -1);
            if (f.length != 9) {
                throw new IllegalArgumentException("expected 9 fields, got " + f.length);
            }
            return new Row(Long.parseLong(f[0]), Phase.valueOf(f[1].toUpperCase(Locale.ROOT)), Integer.parseInt(f[2]),
                    Long.parseLong(f[3]), parseNum(f[4]), parseNum(f[5]), Integer.parseInt(f[6]), parseNum(f[7]),
                    Long.parseLong(f[8]));
        }

        private static String num(double v) {
            return Double.isNaN(v) ? "" : Double.toString(v);
        }

        private static double parseNum(String s) {
            return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
        }
    }

    private final Path dir;
    private final Path csv;
    private final Clock clock;
    private final BufferedWriter out;

    private MetricsLog(Path dir, Clock clock) throws IOException {
        this.dir = dir;
        this.csv = dir.resolve(FILE);
        this.clock = clock;
        Files.createDirectories(dir);
        boolean fresh = !Files.exists(csv) || Files.size(csv) == 0;
        if (!fresh) {
            String first = Files.newBufferedReader(csv, StandardCharsets.UTF_8).readLine();
            if (!HEADER.equals(first)) {
                throw new IOException(csv + " is not a metrics file of this version (its first line is '" + first
                        + "'); move it away or choose another --logdir");
            }
        }
        this.out = Files.newBufferedWriter(csv, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        if (fresh) {
            out.write(HEADER);
            out.newLine();
            out.flush();
        }
    }

    /** Opens (or creates) {@code <logdir>/metrics.csv} for appending. */
    public static MetricsLog open(Path logdir) throws IOException {
        return new MetricsLog(logdir, Clock.systemUTC());
    }

    /** As {@link #open(Path)}, with the clock that stamps rows. */
    public static MetricsLog open(Path logdir, Clock clock) throws IOException {
        return new MetricsLog(logdir, clock);
    }

    /** Appends a row stamped with the current time, and flushes it. */
    public void append(Phase phase, int epoch, long step, double loss, double accuracy, int peersKnown,
            double remoteSuccessRate, long requestsServed) throws IOException {
        append(new Row(clock.millis(), phase, epoch, step, loss, accuracy, peersKnown, remoteSuccessRate, requestsServed));
    }

    public void append(Row row) throws IOException {
        out.write(row.toCsv());
        out.newLine();
        out.flush();
    }

    /** The CSV file. */
    public Path file() {
        return csv;
    }

    /** Every row in the file, including earlier runs'. Lines that do not parse are skipped. */
    public List<Row> rows() throws IOException {
        out.flush();
        List<Row> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        for (int i = 1; i < lines.size(); i++) {
            try {
                rows.add(Row.parse(lines.get(i)));
            } catch (RuntimeException e) {
                LOG.debug("skipping line {} of {}: {}", i + 1, csv, e.getMessage());
            }
        }
        return rows;
    }

    /**
     * Draws {@code loss.png}, {@code accuracy.png} and {@code network.png} in logdir from all rows,
     * against the training step. A plotting failure is logged, not thrown: plots must never stop
     * training.
     *
     * @return the files written
     */
    public List<Path> plot() {
        List<Path> written = new ArrayList<>();
        try {
            List<Row> rows = rows();
            List<Row> train = rows.stream().filter(r -> r.phase() == Phase.TRAIN).toList();
            List<Row> test = rows.stream().filter(r -> r.phase() == Phase.TEST).toList();
            if (rows.isEmpty()) {
                return written;
            }
            XYChart loss = chart("Loss", "loss");
            add(loss, "train", train, Row::loss, false);
            add(loss, "test", test, Row::loss, true);
            written.add(write(loss, "loss.png"));

            XYChart acc = chart("Accuracy", "accuracy");
            add(acc, "train", train, Row::accuracy, false);
            add(acc, "test", test, Row::accuracy, true);
            written.add(write(acc, "accuracy.png"));

            XYChart net = chart("Network", "value");
            add(net, "peers known", train, r -> r.peersKnown(), false);
            add(net, "remote success rate", train, Row::remoteSuccessRate, false);
            add(net, "requests served (thousands)", train, r -> r.requestsServed() / 1000.0, false);
            written.add(write(net, "network.png"));
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not draw plots in {}: {}", dir, e.toString());
        }
        return written;
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("step").yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        return c;
    }

    /** Adds a series of the rows' finite values; nothing if there are none (XChart rejects empty series). */
    private static void add(XYChart chart, String name, List<Row> rows, ToDoubleFunction<Row> y, boolean markers) {
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (Row r : rows) {
            double v = y.applyAsDouble(r);
            if (Double.isFinite(v)) {
                xs.add((double) r.step());
                ys.add(v);
            }
        }
        if (xs.isEmpty()) {
            return;
        }
        XYSeries s = chart.addSeries(name, xs, ys);
        s.setMarker(markers ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    }

    private Path write(XYChart chart, String name) throws IOException {
        Path target = dir.resolve(name);
        AtomicFiles.write(target, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        return target;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
