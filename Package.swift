// swift-tools-version:6.0
// avtrain: distributed training of an audio encoder into the CLIP embedding space.
// Dependencies point one way (docs/architecture.md draws them): files (AVFiles) and kernels
// (AVTensor) → safetensors (AVSafetensors) → audio front-end (AVAudio), model (AVModel),
// communication (AVDist → AVMPI), HDF5 (AVHDF5) → losses (AVLoss: AVTensor + AVDist), data (AVData),
// evaluation/inference/export (AVEval: model + front-end, no MPI/HDF5) → training (AVTrain) →
// executables, which only wire libraries together. C libraries are reached only through the shim
// targets C*; a target imports a shim only if it needs it. `.ci/run` builds with
// --explicit-target-dependency-import-check error: every import is declared.
import PackageDescription

let fast: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "avtrain",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "avtrain", targets: ["avtrain"]),
        .executable(name: "avembed", targets: ["avembed"]),
        .executable(name: "avtool", targets: ["avtool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV", from: "0.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // Native libraries (pkg-config names as Debian ships them).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CSndfile", path: "Sources/CSndfile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f",
                       providers: [.apt(["libfftw3-dev"])]),

        // Stages of a clip's journey (docs/architecture.md draws the graph).
        .target(name: "AVFiles", swiftSettings: fast),
        // Hot non-GEMM kernels in C, one source instantiated per instruction set, picked at start-up.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "AVTensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: fast),
        .target(name: "AVSafetensors", dependencies: ["AVFiles"], swiftSettings: fast),
        .target(name: "AVAudio", dependencies: ["AVTensor", "CKernels", "CSndfile", "CFFTW"], swiftSettings: fast),
        .target(name: "AVModel", dependencies: ["AVTensor", "AVSafetensors"], swiftSettings: fast),
        .target(name: "AVDist", dependencies: ["AVTensor"], swiftSettings: fast),
        .target(name: "AVMPI", dependencies: ["AVDist", "CMPI"], swiftSettings: fast),
        .target(name: "AVHDF5", dependencies: ["CHDF5"], swiftSettings: fast),
        .target(name: "AVLoss", dependencies: ["AVTensor", "AVDist"], swiftSettings: fast),
        .target(name: "AVData", dependencies: ["AVTensor", "AVAudio", "AVHDF5", "AVSafetensors", "AVFiles",
                                               .product(name: "SwiftCSV", package: "SwiftCSV")],
                swiftSettings: fast),
        // Evaluation and inference (zero-shot, probe, retrieval, export, embedding): no MPI, no HDF5,
        // so avembed links only BLAS, FFTW and libsndfile.
        .target(name: "AVEval", dependencies: ["AVTensor", "AVAudio", "AVModel", "AVSafetensors", "AVFiles",
                                               .product(name: "SwiftCSV", package: "SwiftCSV")], swiftSettings: fast),
        .target(name: "AVTrain", dependencies: ["AVTensor", "AVAudio", "AVModel", "AVDist", "AVData",
                                                "AVSafetensors", "AVFiles", "AVLoss", "AVEval",
                                                .product(name: "TOMLKit", package: "TOMLKit")], swiftSettings: fast),

        // Executables wire libraries together. avembed links no MPI and no HDF5.
        .executableTarget(name: "avtrain", dependencies: ["AVTrain", "AVData", "AVMPI", "AVDist", "AVTensor",
                                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: fast),
        .executableTarget(name: "avembed", dependencies: [
            "AVTensor", "AVAudio", "AVModel", "AVSafetensors", "AVEval",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fast),
        .executableTarget(name: "avtool", dependencies: [
            "AVTensor", "AVSafetensors", "AVFiles", "AVAudio", "AVModel", "AVDist", "AVMPI", "AVHDF5",
            "AVData", "AVTrain", "AVLoss", "AVEval", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fast),

        // Tests (numeric tests are meant to run with `swift test -c release`). One target per
        // library; IntegrationTests runs the built executables and mpirun.
        .target(name: "TestSupport", dependencies: ["AVTensor", "AVSafetensors"], path: "Tests/TestSupport"),
        .target(name: "RunFixtures", dependencies: ["AVTensor", "AVAudio", "AVModel", "AVData", "AVDist", "AVEval", "AVTrain",
                                                    "TestSupport"], path: "Tests/RunFixtures"),
        .testTarget(name: "AVTensorTests", dependencies: ["AVTensor", "TestSupport"]),
        .testTarget(name: "AVSafetensorsTests", dependencies: ["AVSafetensors", "TestSupport"]),
        .testTarget(name: "AVAudioTests", dependencies: ["AVAudio", "AVTensor", "AVSafetensors", "TestSupport"]),
        .testTarget(name: "AVModelTests", dependencies: ["AVModel", "AVTensor", "AVSafetensors", "TestSupport"]),
        .testTarget(name: "AVDistTests", dependencies: ["AVDist", "AVTensor", "TestSupport"]),
        .testTarget(name: "AVHDF5Tests", dependencies: ["AVHDF5", "TestSupport"]),
        .testTarget(name: "AVLossTests", dependencies: ["AVLoss", "AVDist", "TestSupport"]),
        .testTarget(name: "AVDataTests", dependencies: ["AVData", "AVHDF5", "CHDF5", "RunFixtures", "AVAudio", "AVTensor", "AVSafetensors", "TestSupport"]),
        .testTarget(name: "AVEvalTests", dependencies: ["AVEval", "AVTrain", "AVData", "AVDist", "AVModel", "AVAudio", "AVTensor",
                                                        "AVSafetensors", "TestSupport", "RunFixtures"]),
        .testTarget(name: "AVTrainTests", dependencies: ["AVTrain", "AVEval", "AVData", "AVDist", "AVModel", "AVSafetensors", "AVTensor",
                                                         "AVFiles", "TestSupport", "RunFixtures"]),
        // Everything that runs the built executables or mpirun, the multi-host test bed (network
        // namespaces, MPI over TCP; needs root; Launch/testbed) included.
        .testTarget(name: "IntegrationTests", dependencies: ["AVTensor", "AVAudio", "AVModel", "AVData", "AVHDF5", "AVSafetensors",
                                                             "AVEval", "AVTrain", "TestSupport", "RunFixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
