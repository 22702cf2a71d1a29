package io.bittensor.router;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A batch split by its gates: per peer, the rows routed to it.
 *
 * @param inputs per peer, its rows of the batch in row order [m, …], or {@code null} if no row was
 *     routed to it (such a peer must not be called)
 * @param rows per peer, the batch row indices of its inputs, ascending (empty if none)
 */
public record Dispatch(List<INDArray> inputs, List<int[]> rows) {

  public int peers() {
    return rows.size();
  }

  /** Whether peer {@code e} got at least one row. */
  public boolean routed(int e) {
    return rows.get(e).length > 0;
  }
}
