package io.bittensor.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.config.NeuronConfig;
import io.bittensor.dendrite.DendriteCall;
import io.bittensor.neuron.Neuron;
import io.bittensor.proto.Modality;
import io.bittensor.proto.ReturnCode;
import io.bittensor.proto.Synapse;
import io.bittensor.session.NeuronSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** A running neuron scraped over real HTTP, as Prometheus would. */
class NeuronMetricsIT {
    private static final Pattern SAMPLE = Pattern.compile("^([a-z_]+)(\\{[^}]*\\})? (\\S+)$", Pattern.MULTILINE);

    @TempDir
    Path dir;

    private NeuronMetrics metrics;
    private NeuronSession session;

    @AfterEach
    void close() {
        if (session != null) {
            session.close();
        }
        if (metrics != null) {
            metrics.close();
        }
    }

    /** Forward: 2x; Backward: 2x the gradient. */
    private static final class Doubler implements Neuron {
        @Override
        public INDArray forwardTensor(INDArray x) {
            return x.mul(2);
        }

        @Override
        public INDArray backward(Modality modality, INDArray inputs, INDArray gradOutputs) {
            return gradOutputs.mul(2);
        }
    }

    private static String scrape(int port) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain"),
                r.headers().toString());
        return r.body();
    }

    /** Every sample "name{labels}" → value. */
    private static Map<String, Double> samples(String text) {
        Map<String, Double> m = new HashMap<>();
        Matcher x = SAMPLE.matcher(text);
        while (x.find()) {
            m.put(x.group(1) + (x.group(2) == null ? "" : x.group(2)), Double.parseDouble(x.group(3)));
        }
        return m;
    }

    private static double value(Map<String, Double> samples, String name, String... labels) {
        return samples.entrySet().stream()
                .filter(e -> e.getKey().equals(name) || e.getKey().startsWith(name + "{")
                        && List.of(labels).stream().allMatch(l -> e.getKey().contains(l)))
                .filter(e -> labels.length == 0 || !e.getKey().equals(name))
                .mapToDouble(Map.Entry::getValue).sum();
    }

    @Test
    void aScrapeOfARunningNeuronHasItsSeries() throws Exception {
        metrics = NeuronMetrics.builder().build();
        NeuronConfig config = NeuronConfig.builder().axonPort(0).metagraphPort(0).remoteIp("127.0.0.1")
                .datapath(dir).logdir(dir.resolve("logs")).build();
        session = NeuronSession.builder(config).bindHost("127.0.0.1").callListener(metrics)
                .metagraph(m -> m.powDifficulty(1)).axon(a -> a.workerThreads(1).ioThreads(1))
                .dendrite(d -> d.timeout(Duration.ofSeconds(20)).ioThreads(1).banInitial(Duration.ofMinutes(1))).build();
        String synapseKey = session.keypair().synapseKey("doubler");
        session.serve(synapseKey, new Doubler());
        session.start();
        metrics.watch(session).serve(0);

        // The neuron calls itself: one Forward and one Backward, served and made.
        Synapse self = session.metagraph().synapse(synapseKey).orElseThrow();
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 512);
        DendriteCall call = session.forward(List.of(self), List.of(x), Modality.TENSOR);
        assertEquals(ReturnCode.OK, call.results().get(0).code());
        session.backward(call, List.of(Nd4j.ones(DataType.FLOAT, 2, 3, 512).muli(0.001)));
        // A call to a synapse nobody serves here: UNKNOWN_SYNAPSE on both sides.
        Synapse unknown = self.toBuilder().setSynapseKey(session.keypair().synapseKey("nothing")).build();
        assertEquals(ReturnCode.UNKNOWN_SYNAPSE,
                session.forward(List.of(unknown), List.of(x), Modality.TENSOR).results().get(0).code());
        metrics.training("test", 0.25, 0.9);
        metrics.steps(3);

        String text = scrape(metrics.port());
        Map<String, Double> s = samples(text);
        String me = "peer=\"" + session.keypair().publicKeyHex() + "\"";
        assertEquals(1, value(s, "bittensor_axon_calls_total", "method=\"forward\"", me, "code=\"OK\""), text);
        assertEquals(1, value(s, "bittensor_axon_calls_total", "method=\"backward\"", me, "code=\"OK\""), text);
        assertEquals(1, value(s, "bittensor_axon_calls_total", "method=\"forward\"", "code=\"UNKNOWN_SYNAPSE\""), text);
        assertEquals(1, value(s, "bittensor_dendrite_calls_total", "method=\"forward\"", me, "code=\"OK\""), text);
        assertEquals(1, value(s, "bittensor_dendrite_calls_total", "method=\"backward\"", me, "code=\"OK\""), text);
        assertEquals(2, value(s, "bittensor_axon_call_seconds_count", "method=\"forward\""), text);
        assertEquals(2, value(s, "bittensor_axon_call_seconds_bucket", "method=\"forward\"", "le=\"+Inf\""), text);
        assertTrue(value(s, "bittensor_dendrite_call_seconds_sum", "method=\"forward\"") > 0, text);
        // Two [2, 3, 512] float tensors out per Forward made (3 KiB each way at least).
        assertTrue(value(s, "bittensor_message_bytes_total", "component=\"dendrite\"", "direction=\"out\"")
                > 3 * 2 * 3 * 512 * 4, text);
        assertEquals(value(s, "bittensor_message_bytes_total", "component=\"dendrite\"", "direction=\"out\""),
                value(s, "bittensor_message_bytes_total", "component=\"axon\"", "direction=\"in\""), text);
        assertTrue(s.containsKey("bittensor_axon_queue_depth"), text);
        assertTrue(s.get("bittensor_axon_queue_limit") >= 1, text);
        assertEquals(0, value(s, "bittensor_axon_refusals_total", "code=\"OVERLOADED\""), text);
        assertTrue(text.contains("bittensor_axon_refusals_total{code=\"OVERLOADED\"}"), text);
        assertEquals(1, s.get("bittensor_metagraph_synapses"), text);
        assertEquals(0, s.get("bittensor_metagraph_peers"), text);
        assertTrue(text.contains("bittensor_metagraph_dropped_total{reason="), text);
        assertEquals(1, s.get("bittensor_dendrite_banned_peers"), text + " (the unknown synapse)");
        assertEquals(0.25, s.get("bittensor_training_loss{phase=\"test\"}"), text);
        assertEquals(0.9, s.get("bittensor_training_accuracy{phase=\"test\"}"), text);
        assertEquals(3, s.get("bittensor_training_steps_total"), text);
        for (String name : s.keySet()) {
            assertTrue(name.startsWith("bittensor_"), name);
        }
    }

    @Test
    void aTakenPortIsAClearError() throws IOException {
        metrics = NeuronMetrics.builder().build().serve(0);
        try (NeuronMetrics second = NeuronMetrics.builder().build()) {
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> second.serve(metrics.port()));
            assertTrue(e.getMessage().contains("port " + metrics.port()), e.getMessage());
        }
    }
}
