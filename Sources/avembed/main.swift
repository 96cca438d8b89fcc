import AVTensor
#if canImport(Glibc)
import Glibc
#endif

BLASKernels.ensureOptimisedKernels(program: "avembed", quiet: true)
fputs("avembed: inference lands with the export issue; see README.md\n", stderr)
exit(2)
