-- Readiness: the migrated entry points exist and the session role may execute them.
SELECT coalesce(has_function_privilege(to_regprocedure('api.diagnosis_part(text[],text[],text)'), 'EXECUTE'), false)
   AND coalesce(has_function_privilege(to_regprocedure('api.summary(text[])'), 'EXECUTE'), false)
