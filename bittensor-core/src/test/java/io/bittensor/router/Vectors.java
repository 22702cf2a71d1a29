package io.bittensor.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Reads the shared semantic test vectors (JSON) into ND4J arrays. */
final class Vectors {
  private Vectors() {}

  static JsonNode load(String resource) {
    try (InputStream in = Vectors.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + resource);
      }
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A rectangular nested list of numbers as an array of that shape. */
  static INDArray array(JsonNode node, DataType dt) {
    List<Long> shape = new ArrayList<>();
    JsonNode n = node;
    while (n.isArray()) {
      shape.add((long) n.size());
      if (n.size() == 0) {
        break;
      }
      n = n.get(0);
    }
    List<Double> values = new ArrayList<>();
    flatten(node, values);
    double[] flat = values.stream().mapToDouble(Double::doubleValue).toArray();
    long[] s = shape.stream().mapToLong(Long::longValue).toArray();
    return Nd4j.create(flat, s, dt);
  }

  private static void flatten(JsonNode node, List<Double> out) {
    if (node.isArray()) {
      node.forEach(child -> flatten(child, out));
    } else {
      out.add(node.asDouble());
    }
  }

  /** A list of arrays (ragged on axis 0); an empty list entry becomes {@code null}. */
  static List<INDArray> arrays(JsonNode node, DataType dt) {
    List<INDArray> out = new ArrayList<>();
    node.forEach(child -> out.add(child.size() == 0 ? null : array(child, dt)));
    return out;
  }
}
