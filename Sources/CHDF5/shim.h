// Serial HDF5 for Swift. H5T_NATIVE_*, H5F_ACC_*, H5P_DEFAULT... are macros (several expand to a
// call that first initialises the library), which Swift cannot import; these getters return them.
#ifndef AVTRAIN_CHDF5_SHIM_H
#define AVTRAIN_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t avh5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t avh5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t avh5_native_int16(void) { return H5T_NATIVE_INT16; }
static inline hid_t avh5_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t avh5_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t avh5_ieee_f16le(void) {
    // IEEE half precision little-endian, built from float32 (HDF5 1.10 has no predefined f16).
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(t, 15, 10, 5, 0, 10);
    H5Tset_size(t, 2);
    H5Tset_ebias(t, 15);
    return t;
}
static inline hid_t avh5_c_s1(void) { return H5T_C_S1; }
static inline hid_t avh5_native_llong(void) { return H5T_NATIVE_LLONG; }
/// numpy bool as h5py stores it: an enum over int8 with members FALSE = 0 and TRUE = 1.
static inline hid_t avh5_bool_enum(void) {
    hid_t t = H5Tenum_create(H5T_STD_I8LE);
    signed char f = 0, v = 1;
    H5Tenum_insert(t, "FALSE", &f);
    H5Tenum_insert(t, "TRUE", &v);
    return t;
}
static inline size_t avh5_variable(void) { return H5T_VARIABLE; }
static inline hid_t avh5_std_i16le(void) { return H5T_STD_I16LE; }
static inline hid_t avh5_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t avh5_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t avh5_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t avh5_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t avh5_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t avh5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t avh5_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline unsigned avh5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned avh5_f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned avh5_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline H5S_seloper_t avh5_select_set(void) { return H5S_SELECT_SET; }
/// Silence HDF5's automatic error-stack printing; errors are turned into Swift errors instead.
static inline void avh5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static inline int avh5_version(unsigned *maj, unsigned *min, unsigned *rel) { return H5get_libversion(maj, min, rel); }
#endif
