# bpf_skeleton(NAME SOURCE [SKELETON SKEL] [COMPILE_OPTIONS OPT...]): compiles SOURCE with clang -target bpf
# (and OPTs) and turns the object into SKEL.skel.h (SKEL defaults to NAME) with `bpftool gen skeleton`. The object
# is embedded in the header, so binaries that include it need no .o file at run time. Link the INTERFACE target
# NAME_skel to get the include path and libbpf. SKELETON gives a second build of a program the first one's
# skeleton name (tests/e2e: the router of an upgrade), in its own binary directory.
find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch OUTPUT_VARIABLE BPF_MULTIARCH
                OUTPUT_STRIP_TRAILING_WHITESPACE)

function(bpf_skeleton name source)
  cmake_parse_arguments(B "" "SKELETON" "COMPILE_OPTIONS" ${ARGN})
  if(NOT B_SKELETON)
    set(B_SKELETON ${name})
  endif()
  get_filename_component(src ${source} ABSOLUTE)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/${B_SKELETON}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -Wall -Werror
            -I/usr/include/${BPF_MULTIARCH} -I${PROJECT_SOURCE_DIR}/include -I${CMAKE_CURRENT_SOURCE_DIR}
            ${B_COMPILE_OPTIONS} -MD -MF ${obj}.d -c ${src} -o ${obj}
    DEPENDS ${src}
    DEPFILE ${obj}.d
    COMMENT "BPF ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${B_SKELETON} > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${B_SKELETON}.skel.h (${name})"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR} ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
