package io.bittensor.runtime;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * Where a networked training step's wall-clock time goes, summed per phase since the last
 * {@link #reset}. Written and read by the training thread only.
 *
 * <p>It exists because a networked step costs several solo steps, and the split between waiting
 * for peers and computing is what tells a user (and us) which knob matters.
 */
public final class StepPhases {
    /** The parts of one networked step, in the order they run. */
    public enum Phase {
        /** Applying the queued peers' Backward gradients before the step. */
        PEER_GRADIENTS("peer gradients"),
        /**
         * The model's router context for the batch; for an early route of a model with a
         * {@link NeuronModel#contextSnapshot() context snapshot}, only taking the snapshot (the
         * routing thread computes the context).
         */
        CONTEXT("context"),
        /** Gate, dispatch, and sending the Dendrite's Forward to the peers. */
        ROUTE("route"),
        /** Waiting for the peers' answers, and combining them. */
        WAIT("wait"),
        /** The model's training step with the network's answer. */
        TRAIN("train"),
        /** Handing the gate's step and the peers' Backward to their thread. */
        GATE("hand-off");

        private final String label;

        Phase(String label) {
            this.label = label;
        }
    }

    private final Map<Phase, Long> nanos = new EnumMap<>(Phase.class);
    private int steps;

    /** Adds {@code elapsedNanos} to {@code phase}. */
    public void add(Phase phase, long elapsedNanos) {
        nanos.merge(phase, elapsedNanos, Long::sum);
    }

    /** Counts one finished step. */
    public void stepDone() {
        steps++;
    }

    public int steps() {
        return steps;
    }

    /** Mean milliseconds per step spent in {@code phase}; NaN before the first step. */
    public double meanMillis(Phase phase) {
        return steps == 0 ? Double.NaN : nanos.getOrDefault(phase, 0L) / 1e6 / steps;
    }

    /** "ms per step: peer gradients 0.4, context 2.0, route 3.1, wait 1.2, train 18.2, hand-off 0.3 (500 steps)". */
    public String summary() {
        StringBuilder sb = new StringBuilder("ms per step:");
        for (Phase p : Phase.values()) {
            sb.append(String.format(Locale.ROOT, " %s %.1f,", p.label, meanMillis(p)));
        }
        sb.setLength(sb.length() - 1);
        return sb.append(" (").append(steps).append(" steps)").toString();
    }

    public void reset() {
        nanos.clear();
        steps = 0;
    }
}
