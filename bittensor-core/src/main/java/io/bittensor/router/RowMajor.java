package io.bittensor.router;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * A small matrix's values read into one Java array, row by row. ND4J's {@code toDoubleMatrix}
 * makes a view and a copy per row (each a native buffer and its shape buffer, freed later by
 * ND4J's deallocator thread): ~380 native buffers for a [64, n] gate matrix, read twice a step.
 * This reads the buffer once, copying first only when the array is a view or not C-ordered.
 */
final class RowMajor {
  private RowMajor() {}

  /** The values of {@code a} (any rank) in C order, as doubles. */
  static double[] doubles(INDArray a) {
    if (a.isEmpty()) {
      return new double[0];
    }
    if (isDense(a)) {
      return a.data().asDouble();
    }
    try (INDArray dense = a.dup('c')) {
      return dense.data().asDouble();
    }
  }

  private static boolean isDense(INDArray a) {
    return a.ordering() == 'c'
        && a.offset() == 0
        && a.data().length() == a.length()
        && Shape.hasDefaultStridesForShape(a);
  }
}
