package io.bittensor.training;

import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A progress bar for an epoch as log lines (works the same in a terminal, a log file and under
 * Docker): {@code epoch 2 [######------] 52% 488/938  loss 0.0712  acc 97.6%  81.0 steps/s  eta 5s}.
 * A line is emitted at most once per interval, plus always at the last step.
 */
public final class EpochProgress {
    private static final Logger LOG = LoggerFactory.getLogger(EpochProgress.class);
    private static final int WIDTH = 20;

    private final int epoch;
    private final int total;
    private final long intervalNanos;
    private final LongSupplier nanoClock;
    private final Consumer<String> sink;
    private final long start;
    private long lastEmit;

    /**
     * @param epoch     epoch number shown
     * @param total     steps in the epoch
     * @param interval  least time between lines, in seconds
     * @param nanoClock e.g. {@code System::nanoTime}
     * @param sink      where lines go (a logger's info, or a list in tests)
     */
    public EpochProgress(int epoch, int total, double interval, LongSupplier nanoClock, Consumer<String> sink) {
        if (total < 1) {
            throw new IllegalArgumentException("total must be at least 1, got " + total);
        }
        this.epoch = epoch;
        this.total = total;
        this.intervalNanos = (long) (interval * TimeUnit.SECONDS.toNanos(1));
        this.nanoClock = nanoClock;
        this.sink = sink;
        this.start = nanoClock.getAsLong();
        this.lastEmit = start;
    }

    /** Lines through SLF4J every 5 s. */
    public static EpochProgress logging(int epoch, int total) {
        return new EpochProgress(epoch, total, 5, System::nanoTime, LOG::info);
    }

    /**
     * Reports that {@code done} steps (1-based) are finished.
     *
     * @param loss     running loss to show (NaN = none)
     * @param accuracy running accuracy in [0,1] to show (NaN = none)
     */
    public void update(int done, double loss, double accuracy) {
        long now = nanoClock.getAsLong();
        if (done < total && now - lastEmit < intervalNanos) {
            return;
        }
        lastEmit = now;
        sink.accept(line(done, loss, accuracy, now - start));
    }

    String line(int done, double loss, double accuracy, long elapsedNanos) {
        int filled = (int) ((long) WIDTH * done / total);
        double seconds = elapsedNanos / 1e9;
        double rate = seconds > 0 ? done / seconds : 0;
        StringBuilder sb = new StringBuilder(96);
        sb.append("epoch ").append(epoch).append(" [")
                .append("#".repeat(filled)).append("-".repeat(WIDTH - filled)).append("] ")
                .append(String.format(Locale.ROOT, "%3d%% %d/%d", 100L * done / total, done, total));
        if (!Double.isNaN(loss)) {
            sb.append(String.format(Locale.ROOT, "  loss %.4f", loss));
        }
        if (!Double.isNaN(accuracy)) {
            sb.append(String.format(Locale.ROOT, "  acc %.1f%%", 100 * accuracy));
        }
        sb.append(String.format(Locale.ROOT, "  %.1f steps/s", rate));
        if (done < total && rate > 0) {
            sb.append(String.format(Locale.ROOT, "  eta %.0fs", (total - done) / rate));
        }
        return sb.toString();
    }
}
