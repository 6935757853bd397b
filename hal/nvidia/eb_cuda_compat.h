/*
 * The few CUDA language pieces the fan-out kernel needs, for clang's CUDA
 * mode without the CUDA toolkit (-nocudainc): the function and memory space
 * attributes and the thread/block indices through clang's NVVM builtins.
 * encbox's own, written for this kernel only.
 */
#ifndef EB_CUDA_COMPAT_H
#define EB_CUDA_COMPAT_H

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __forceinline__ __attribute__((always_inline)) inline

static __device__ __forceinline__ int eb_tid_x()
{
    return __nvvm_read_ptx_sreg_tid_x();
}
static __device__ __forceinline__ int eb_tid_y()
{
    return __nvvm_read_ptx_sreg_tid_y();
}
static __device__ __forceinline__ int eb_ctaid_x()
{
    return __nvvm_read_ptx_sreg_ctaid_x();
}
static __device__ __forceinline__ int eb_ctaid_y()
{
    return __nvvm_read_ptx_sreg_ctaid_y();
}
static __device__ __forceinline__ int eb_ctaid_z()
{
    return __nvvm_read_ptx_sreg_ctaid_z();
}
static __device__ __forceinline__ int eb_ntid_x()
{
    return __nvvm_read_ptx_sreg_ntid_x();
}
static __device__ __forceinline__ int eb_ntid_y()
{
    return __nvvm_read_ptx_sreg_ntid_y();
}

#endif
