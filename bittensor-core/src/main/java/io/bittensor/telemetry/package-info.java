/**
 * Hooks for operators' tools: a {@link io.bittensor.telemetry.CallListener} on the Axon and the
 * Dendrite sees every call with its peer, return code, latency and bytes. Core ships no metrics
 * library; bittensor-metrics implements the listener with the Prometheus Java client.
 */
package io.bittensor.telemetry;
