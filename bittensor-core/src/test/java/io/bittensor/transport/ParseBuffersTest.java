package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ParseBuffersTest {

    @Test
    void sizeClassesAreAtMostAQuarterOverAndNeverUnder() {
        assertEquals(4096, ParseBuffers.sizeClass(0));
        assertEquals(4096, ParseBuffers.sizeClass(4096));
        assertEquals(131072, ParseBuffers.sizeClass(131072));
        assertEquals(163840, ParseBuffers.sizeClass(131072 + 200)); // a [64,1,512] request
        for (int n : new int[] {4097, 5000, 65535, 65536, 65537, 1 << 20, (1 << 20) + 1, 123_456_789,
                Integer.MAX_VALUE - 8}) {
            int c = ParseBuffers.sizeClass(n);
            assertTrue(c >= n && c - n <= n / 4 + 1, n + " -> " + c);
        }
    }

    @Test
    void aGivenBackArrayIsReusedForTheSameClassOnly() {
        ParseBuffers pool = new ParseBuffers(1 << 20);
        ParseBuffers.Lease a = pool.acquire(131_272);
        byte[] first = a.array();
        assertEquals(131_272, a.length());
        a.close();
        assertEquals(first.length, pool.idleBytes());
        try (ParseBuffers.Lease b = pool.acquire(131_300); ParseBuffers.Lease c = pool.acquire(131_300)) {
            assertSame(first, b.array(), "same class: the idle array again");
            assertNotSame(first, c.array(), "in use: never handed out twice");
            assertEquals(0, pool.idleBytes());
        }
        try (ParseBuffers.Lease d = pool.acquire(300_000)) {
            assertNotSame(first, d.array());
        }
    }

    @Test
    void closingTwiceGivesBackOnceAndAClosedLeaseRefusesItsArray() {
        ParseBuffers pool = new ParseBuffers(1 << 20);
        ParseBuffers.Lease a = pool.acquire(10_000);
        a.close();
        a.close();
        assertEquals(ParseBuffers.sizeClass(10_000), pool.idleBytes());
        assertTrue(a.isClosed());
        assertThrows(IllegalStateException.class, a::array);
        try (ParseBuffers.Lease b = pool.acquire(10_000); ParseBuffers.Lease c = pool.acquire(10_000)) {
            assertNotSame(b.array(), c.array(), "a double close must not put one array in twice");
        }
    }

    @Test
    void idleBytesStayWithinTheBound() {
        ParseBuffers pool = new ParseBuffers(20_000); // two 8 KiB arrays, not three
        List<ParseBuffers.Lease> leases = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            leases.add(pool.acquire(8192));
        }
        leases.forEach(ParseBuffers.Lease::close);
        assertEquals(16_384, pool.idleBytes());
        ParseBuffers none = new ParseBuffers(0);
        none.acquire(100).close();
        assertEquals(0, none.idleBytes());
        ParseBuffers small = new ParseBuffers(100_000);
        small.acquire(200_000).close(); // larger than the bound: never kept
        assertEquals(0, small.idleBytes());
    }

    /**
     * Threads borrow, fill with their own pattern, let others run, check the pattern and give
     * back: an array handed to two holders at once would show the other's bytes, and the set of
     * arrays on loan would see it twice.
     */
    @Test
    void underConcurrencyNoArrayIsEverOnLoanTwice() throws Exception {
        ParseBuffers pool = new ParseBuffers(1 << 20);
        Set<byte[]> onLoan = ConcurrentHashMap.newKeySet(); // byte[] compares by identity
        AtomicInteger doubleLoans = new AtomicInteger();
        AtomicInteger corrupted = new AtomicInteger();
        int threads = 8;
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                byte mark = (byte) (t + 1);
                done.add(ex.submit(() -> {
                    for (int i = 0; i < 2000; i++) {
                        try (ParseBuffers.Lease l = pool.acquire(5000 + (i % 3) * 100)) {
                            byte[] a = l.array();
                            if (!onLoan.add(a)) {
                                doubleLoans.incrementAndGet();
                            }
                            java.util.Arrays.fill(a, 0, l.length(), mark);
                            Thread.yield();
                            for (int k = 0; k < l.length(); k += 97) {
                                if (a[k] != mark) {
                                    corrupted.incrementAndGet();
                                    break;
                                }
                            }
                            onLoan.remove(a);
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            ex.shutdownNow();
            ex.awaitTermination(10, TimeUnit.SECONDS);
        }
        assertEquals(0, doubleLoans.get());
        assertEquals(0, corrupted.get());
        assertTrue(pool.idleBytes() <= pool.maxIdleBytes());
        assertTrue(pool.idleBytes() > 0, "arrays were given back");
    }

    @Test
    void negativeArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ParseBuffers(-1));
        assertThrows(IllegalArgumentException.class, () -> new ParseBuffers(10).acquire(-1));
    }
}
