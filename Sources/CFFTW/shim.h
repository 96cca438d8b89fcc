// FFTW single precision (fftwf_*), used for the STFT.
#include <fftw3.h>
