# Makes the bundled hub (cmake -P, from plugins/hub/CMakeLists.txt): the build's signing key
# when it has none yet, then a fresh hub with every folder of OFFICIAL published into it.
# Inputs: ADASHTA (the binary), HUB (the hub folder), KEY (the secret key file), TRUSTED
# (where the public key goes), OFFICIAL (plugins/official).
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "bundled hub: `${ARGN}` failed (${rc}):\n${out}${err}")
  endif()
endfunction()

if(NOT EXISTS ${KEY})
  get_filename_component(key_dir ${KEY} DIRECTORY)
  file(MAKE_DIRECTORY ${key_dir})
  run(${ADASHTA} hub keygen --out ${KEY} --label "adashta-official-this-build")
endif()
file(REMOVE_RECURSE ${HUB})
run(${ADASHTA} hub init ${HUB})
file(GLOB plugins LIST_DIRECTORIES true ${OFFICIAL}/*)
list(SORT plugins)
foreach(plugin ${plugins})
  if(IS_DIRECTORY ${plugin})
    run(${ADASHTA} hub publish ${HUB} ${plugin} --key ${KEY})
  endif()
endforeach()
configure_file(${KEY}.pub ${TRUSTED} COPYONLY)
