# The MPI communicator (real mode on CPU ranks), included by CMakeLists.txt when PFC_WITH_MPI
# is ON. Found, it adds native/src/comm/mpi_comm.cc, defines PFC_WITH_MPI and sets
# PFC_HAVE_MPI; not found, it says why and the build goes on without it (comm_binding.cc then
# answers mpiAvailable() with the reason).
# FindMPI only probes enabled languages; the project is C++, so enable C for the probe.
include(CheckLanguage)
check_language(C)
if(CMAKE_C_COMPILER)
  enable_language(C)
  set(MPI_DETERMINE_LIBRARY_VERSION TRUE)  # runs a probe for MPI_Get_library_version's text
  find_package(MPI COMPONENTS C QUIET)
endif()
if(MPI_C_FOUND)
  target_sources(${PROJECT_NAME} PRIVATE ${CMAKE_SOURCE_DIR}/native/src/comm/mpi_comm.cc)
  target_link_libraries(${PROJECT_NAME} PRIVATE MPI::MPI_C ${CMAKE_DL_LIBS})
  target_compile_definitions(${PROJECT_NAME} PRIVATE PFC_WITH_MPI)
  set(PFC_HAVE_MPI ON)
  set(_pfc_mpi_version "${MPI_C_LIBRARY_VERSION_STRING}")
  if(_pfc_mpi_version)
    string(REGEX REPLACE "[\r\n].*" "" _pfc_mpi_version "${_pfc_mpi_version}")
    string(STRIP "${_pfc_mpi_version}" _pfc_mpi_version)
  else()
    set(_pfc_mpi_version "library version unknown")
  endif()
  list(GET MPI_C_LIBRARIES 0 _pfc_mpi_library)
  message(STATUS "pfc-bench: MPI communicator ON (${_pfc_mpi_library}; ${_pfc_mpi_version}; MPI standard ${MPI_C_VERSION})")
else()
  if(NOT CMAKE_C_COMPILER)
    set(_pfc_mpi_why "no C compiler to probe MPI with")
  else()
    set(_pfc_mpi_why "find_package(MPI COMPONENTS C) found no mpicc / libmpi")
  endif()
  message(STATUS "pfc-bench: MPI not found (${_pfc_mpi_why}); install libopenmpi-dev openmpi-bin, or set MPI_HOME")
endif()
