package io.github.optlist.torch;

import io.github.optlist.ChildProcess;
import io.github.optlist.ListVariant;
import io.github.optlist.OptList;
import io.github.optlist.distributed.GroupSettings;
import io.github.optlist.distributed.TestPorts;
import io.github.optlist.distributed.TrainingGroup;
import io.github.optlist.distributed.ZeroRedundancyOptimizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConcurrencyTest {

    /** Trains one parameter with its own optimizer; the outcome depends on the seed only. */
    static double[] train(long seed) {
        Random random = new Random(seed);
        Tensor p = TestTensors.param(TestTensors.gaussian(random, 4096, 1.0), 64, 64);
        try (var opt = TorchOptList.optimizerForIdx(new TensorVector(p), (int) (seed % 5), 200)) {
            for (int k = 0; k < 200; k++) {
                opt.zeroGrad();
                TestTensors.setGrad(p, TestTensors.gaussian(random, 4096, 1.0));
                opt.step();
            }
        }
        return TestTensors.values(p);
    }

    @Test
    void distinctOptimizersOnDistinctParametersStepConcurrently() throws Exception {
        double[] alone1 = train(1);
        double[] alone2 = train(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<double[]> together1 = pool.submit(() -> train(1));
            Future<double[]> together2 = pool.submit(() -> train(2));
            assertArrayEquals(alone1, together1.get());
            assertArrayEquals(alone2, together2.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void closingAnOptimizerWhileAnotherThreadIsInACallIsRefusedInsteadOfKillingTheJvm() throws Exception {
        assertChildSurvivesWithTheRefusal("single");
    }

    @Test
    void closingAShardedOptimizerWhileAnotherThreadIsInACallIsRefusedInsteadOfKillingTheJvm() throws Exception {
        assertChildSurvivesWithTheRefusal("sharded");
    }

    @Test
    void closingAShardedOptimizerWhoseShareIsInACallOnAnotherThreadIsRefusedAndLeavesItOpen() throws Exception {
        Tensor p = randn(4).set_requires_grad(true);
        try (TrainingGroup group = TrainingGroup.join(GroupSettings.gloo("127.0.0.1", TestPorts.freePort(), 0, 1,
                Duration.ofSeconds(30)));
             ZeroRedundancyOptimizer zero = ZeroRedundancyOptimizer.of(group,
                     OptimizerSpec.forIdx(new TensorVector(p), 0, 100, ListVariant.TASKSET,
                             OptimizerOptions.DEFAULTS))) {
            NAdamWCosineDecay share = zero.localOptimizer().orElseThrow();
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread caller = new Thread(() -> {
                try {
                    share.step(() -> {
                        inside.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        p.mutable_grad().put(randn(4));
                        return randn(1);
                    });
                } catch (RuntimeException e) {
                    failure.set(e);
                }
            });
            caller.start();
            inside.await();
            IllegalStateException e = assertThrows(IllegalStateException.class, zero::close);
            assertTrue(e.getMessage().contains("another thread is using this optimizer"), e.getMessage());
            release.countDown();
            caller.join();
            assertNull(failure.get(), "the share's step ran to its end");
            assertEquals(1, share.stepCount());
            p.mutable_grad().put(randn(4));
            zero.step();
            assertEquals(1, zero.stepCount(), "the refused close left the sharded optimizer open");
        }
    }

    private static void assertChildSurvivesWithTheRefusal(String kind) throws Exception {
        ChildProcess child = ChildProcess.java(CloseRace.class, kind);
        String text = child.output();
        System.out.println(text);
        assertEquals(0, child.exitCode(), "the child JVM died: " + text);
        assertTrue(text.contains("close during a call: refused: another thread is using this optimizer"), text);
        assertTrue(text.contains("the blocked call then: returned"), text);
        assertTrue(text.contains("close racing state(): closed after"), text);
        assertTrue(text.contains("survived"), text);
    }

    /**
     * The child JVM: closes an optimizer while another thread is in a call, first one held still (step with a
     * closure, or the skipped-step listener of a sharded optimizer), then state() copies in a loop, which before the
     * guard read moments that close() had freed. The moments are 36 MiB each, above glibc's largest mmap threshold,
     * so freeing them unmaps them and a read after the free faults instead of reading stale memory.
     */
    static final class CloseRace {

        private static final long BIG = 9L << 20;

        public static void main(String[] args) throws Exception {
            boolean sharded = args[0].equals("sharded");
            try (TrainingGroup group = sharded ? TrainingGroup.join(GroupSettings.gloo("127.0.0.1",
                    TestPorts.freePort(), 0, 1, Duration.ofSeconds(60))) : null) {
                closeDuringAHeldCall(group);
                closeRacingStateCopies(group);
            }
            System.out.println("survived");
        }

        private static ListOptimizer optimizer(TrainingGroup group, Tensor p) {
            OptimizerOptions options = OptimizerOptions.DEFAULTS.withSkipNonFiniteSteps(true);
            return group == null
                    ? TestTensors.optimizer(List.of(ParamGroup.of(List.of(p), OptList.config(0))),
                            100, ListVariant.TASKSET, options)
                    : ZeroRedundancyOptimizer.of(group, OptimizerSpec.forIdx(new TensorVector(p), 0, 100,
                            ListVariant.TASKSET, options));
        }

        /** A call held inside the optimizer until close() has answered. */
        private static void closeDuringAHeldCall(TrainingGroup group) throws Exception {
            Tensor p = randn(4).set_requires_grad(true);
            ListOptimizer opt = optimizer(group, p);
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Runnable hold = () -> {
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            AtomicReference<String> outcome = new AtomicReference<>("returned");
            Thread caller;
            if (opt instanceof ZeroRedundancyOptimizer zero) {
                zero.setSkippedStepListener(step -> hold.run());
                p.mutable_grad().put(randn(4).div(new Scalar(0.0))); // non-finite: the step is skipped
                caller = new Thread(() -> call(outcome, zero::step));
            } else {
                NAdamWCosineDecay single = (NAdamWCosineDecay) opt;
                caller = new Thread(() -> call(outcome, () -> single.step(() -> {
                    hold.run();
                    p.mutable_grad().put(randn(4));
                    return randn(1);
                })));
            }
            caller.start();
            inside.await();
            try {
                opt.close();
                System.out.println("close during a call: NOT refused");
            } catch (IllegalStateException e) {
                System.out.println("close during a call: refused: " + e.getMessage());
            }
            release.countDown();
            caller.join();
            System.out.println("the blocked call then: " + outcome.get());
            opt.close();
        }

        private static void call(AtomicReference<String> outcome, Runnable call) {
            try {
                call.run();
            } catch (RuntimeException e) {
                outcome.set("threw " + e);
            }
        }

        /** state() copies 2 x 36 MiB in a loop on one thread; close() is tried on this one until it succeeds. */
        private static void closeRacingStateCopies(TrainingGroup group) throws Exception {
            Tensor p = randn(BIG).set_requires_grad(true);
            ListOptimizer opt = optimizer(group, p);
            p.mutable_grad().put(randn(BIG));
            opt.step();
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<String> copier = new AtomicReference<>("finished");
            Thread thread = new Thread(() -> {
                try {
                    for (int i = 0; i < 100; i++) {
                        try (PointerScope scope = new PointerScope()) {
                            opt.state();
                        }
                        started.countDown();
                    }
                } catch (IllegalStateException e) {
                    copier.set("stopped: " + e.getMessage());
                }
            });
            thread.start();
            started.await();
            Thread.sleep(5); // the copier is then inside its next copy, not between two calls
            long refusals = 0;
            while (true) {
                try {
                    opt.close();
                    break;
                } catch (IllegalStateException e) {
                    refusals++;
                }
            }
            thread.join();
            System.out.println("close racing state(): closed after " + refusals + " refusals; the copier "
                    + copier.get());
        }
    }
}
