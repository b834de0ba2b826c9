# The MPI communicator (real mode on CPU ranks), included by CMakeLists.txt when PFC_WITH_MPI
# is ON. Found, it builds pfc_mpi.so beside the addon (the only file that links libmpi; the
# addon dlopens it, see native/src/comm/mpi_plugin.h), defines PFC_MPI_PLUGIN_BUILT and sets
# PFC_HAVE_MPI; not found, it says why and the build goes on without it (mpiAvailable() then
# answers with the reason).
# FindMPI only probes enabled languages; the project is C++, so enable C for the probe.
include(CheckLanguage)
check_language(C)
if(CMAKE_C_COMPILER)
  enable_language(C)
  set(MPI_DETERMINE_LIBRARY_VERSION TRUE)  # runs a probe for MPI_Get_library_version's text
  find_package(MPI COMPONENTS C QUIET)
endif()
if(MPI_C_FOUND)
  add_library(pfc_mpi MODULE ${CMAKE_SOURCE_DIR}/native/src/comm/mpi_plugin.cc)
  set_target_properties(pfc_mpi PROPERTIES PREFIX "" SUFFIX ".so" CXX_VISIBILITY_PRESET hidden
                        LIBRARY_OUTPUT_DIRECTORY $<TARGET_FILE_DIR:${PROJECT_NAME}>)
  target_include_directories(pfc_mpi PRIVATE ${CMAKE_SOURCE_DIR}/native/src)
  target_compile_options(pfc_mpi PRIVATE -O2 -Wall)
  target_link_libraries(pfc_mpi PRIVATE MPI::MPI_C ${CMAKE_DL_LIBS})
  add_dependencies(${PROJECT_NAME} pfc_mpi)
  target_compile_definitions(${PROJECT_NAME} PRIVATE PFC_MPI_PLUGIN_BUILT)
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
