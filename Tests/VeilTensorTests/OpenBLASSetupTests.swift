import Foundation
import Testing
@testable import VeilTensor

/// Veil's one-time OpenBLAS set-up: the kernel choice for CPUs that OpenBLAS 0.3.21 does not
/// recognise, and OpenBLAS's own threads turned off under Veil's workers.
struct OpenBLASSetupTests {
    @Test func kernelsFollowTheCPUFlags() {
        let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]
        #expect(OpenBLASSetup.bestCore(for: avx512) == "SkylakeX")
        // AVX-512 Foundation alone (Xeon Phi) lacks the BW/VL/DQ parts the SkylakeX kernels use.
        #expect(OpenBLASSetup.bestCore(for: ["avx2", "fma", "avx512f"]) == "Haswell")
        #expect(OpenBLASSetup.bestCore(for: ["avx", "avx2"]) == nil, "AVX2 without FMA")
        #expect(OpenBLASSetup.bestCore(for: ["sse3", "ssse3"]) == nil)
    }

    /// On this machine's CPU, whatever OpenBLAS picked by itself, the kernels in use are not
    /// the generic ones unless the user pinned them.
    @Test func genericKernelsAreReplacedOnModernCPUs() throws {
        try #require(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
                     "OPENBLAS_CORETYPE is set: the user's choice is kept, so there is nothing to test")
        let expected = OpenBLASSetup.bestCore(for: OpenBLASSetup.cpuFlags())
        #expect(!BLASDiagnostics.isUsingGenericKernelsOnModernCPU, "OpenBLAS runs \(BLASDiagnostics.coreName)")
        if let replaced = BLASDiagnostics.replacedCoreName {
            #expect(OpenBLASSetup.genericCores.contains(replaced))
            #expect(BLASDiagnostics.coreName == expected)
        }
    }

    @Test func openBLASRunsSingleThreadedUnderVeilsWorkers() {
        ComputeThreads.configure(2)
        var c = [Float](repeating: 0, count: 64 * 64)
        MatrixMultiply.multiply(m: 64, n: 64, k: 64, a: .init(repeating: 1, count: 4096), b: .init(repeating: 2, count: 4096), into: &c)
        #expect(c.allSatisfy { $0 == 128 })
        #expect(BLAS.threadCount == 1)
        #expect(ComputeThreads.count == 2)
    }

    /// OpenBLAS's idle worker threads, which spin for a while after the library loads, are
    /// gone once Veil has set it up: its own flag for a running thread pool reads 0.
    @Test func openBLASWorkerThreadsAreStopped() throws {
        _ = OpenBLASSetup.done
        let program = try #require(dlopen(nil, RTLD_NOW))
        let available = try #require(dlsym(program, "blas_server_avail"), "not a pthreads build of OpenBLAS: nothing to test")
        #expect(available.load(as: Int32.self) == 0)
        var c = [Float](repeating: 0, count: 4)
        MatrixMultiply.multiply(m: 2, n: 2, k: 2, a: [1, 2, 3, 4], b: [5, 6, 7, 8], into: &c)
        #expect(c == [19, 22, 43, 50], "products still run, on the calling thread")
        #expect(available.load(as: Int32.self) == 0)
    }
}
