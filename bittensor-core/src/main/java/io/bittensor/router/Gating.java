package io.bittensor.router;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One forward pass of a {@link SparseGate}: everything its {@link SparseGate#backward backward}
 * needs, so several passes can be in flight at once.
 *
 * @param context the gate's input [batch, xDim], in the gate's data type
 * @param keys the peers' keys [n, keyDim], in the gate's data type
 * @param scores query · keysᵀ [batch, n]
 * @param mask 1 where a score is among its row's top k, else 0 [batch, n]
 * @param gates softmax over each row's kept scores, exactly 0 elsewhere [batch, n]
 * @param k how many peers each row keeps: min(topK, n)
 */
public record Gating(
    INDArray context, INDArray keys, INDArray scores, INDArray mask, INDArray gates, int k) {

  public long batchSize() {
    return gates.size(0);
  }

  public int peers() {
    return (int) gates.size(1);
  }
}
