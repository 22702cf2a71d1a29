package io.bittensor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeBackendTest {
    @Test
    void picksTheFastestBuildThatIsPresentAndRunnable() {
        Set<String> avx512 = Set.of("avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl");
        Set<String> avx2 = Set.of("avx2", "fma", "sse4_2");
        Set<String> old = Set.of("sse4_2");
        assertEquals(Optional.of("-onednn-avx512"), NativeBackend.choose(avx512, ext -> true));
        assertEquals(Optional.of("-onednn-avx2"), NativeBackend.choose(avx512, ext -> !ext.contains("512")));
        assertEquals(Optional.of("-onednn-avx2"), NativeBackend.choose(avx2, ext -> true));
        assertEquals(Optional.of("-onednn"), NativeBackend.choose(old, ext -> true));
        assertEquals(Optional.of(""), NativeBackend.choose(old, ext -> ext.isEmpty() || ext.equals("-onednn-avx2")));
        assertEquals(Optional.empty(), NativeBackend.choose(old, ext -> false));
    }

    @Test
    void readsCpuFlags(@TempDir Path dir) throws IOException {
        Path info = Files.writeString(dir.resolve("cpuinfo"), "processor\t: 0\nflags\t\t: fpu sse avx2 fma\nbugs\t: x\n");
        assertEquals(Set.of("fpu", "sse", "avx2", "fma"), NativeBackend.cpuFlags(info));
        assertEquals(Set.of(), NativeBackend.cpuFlags(dir.resolve("missing")));
    }

    @Test
    void keepsAnExplicitChoice() {
        // Surefire passes the property: selectFastest must not override it.
        String before = System.getProperty(NativeBackend.PROPERTY);
        if (before != null) {
            assertEquals(before, NativeBackend.selectFastest());
            assertEquals(before, System.getProperty(NativeBackend.PROPERTY));
        }
    }
}
