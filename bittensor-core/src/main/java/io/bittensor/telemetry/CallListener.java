package io.bittensor.telemetry;

/**
 * Hears every Forward and Backward an Axon serves or a Dendrite makes, once the outcome is known
 * (io.bittensor:bittensor-metrics turns these into Prometheus series). Called on gRPC and worker
 * threads, concurrently: it must be thread-safe, quick and must not block. What it throws is
 * logged at debug level and otherwise ignored.
 */
@FunctionalInterface
public interface CallListener {
    void onCall(CallEvent event);

    /** Hears nothing. */
    CallListener NONE = event -> { };
}
