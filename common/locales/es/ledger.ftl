# tiprelay: mensajes en español, ledger.
# `tipctl ledger` (tablas, declaraciones, conciliación) y `tipctl audit`. La salida `--json`
# conserva el texto en inglés de las líneas y diferencias de la conciliación.

## Tabla del libro de reciprocidad (también `tiprelay ledger`)
ledger-col-direction = de→para
ledger-col-category = categoría
ledger-col-period = periodo
ledger-col-sent = enviados
ledger-col-accepted = aceptados
ledger-col-delivered = entregados
ledger-col-acked = confirmados
ledger-col-feedback = con respuesta
ledger-col-ack-latency = confirmación p50/p90
ledger-col-feedback-latency = respuesta p50/p90
ledger-table-title = Libro de reciprocidad ({ $view }), { $range }, por { $period }
ledger-period-day = día
ledger-period-week = semana
ledger-period-month = mes
ledger-range-all = todo el historial
ledger-range = del { $start } al { $end }
ledger-no-tips-in-range = no hay avisos en este intervalo
ledger-pair-line = { $a }→{ $b }: { $ab ->
        [one] 1 aviso
       *[other] { $ab } avisos
    }, { $b }→{ $a }: { $ba ->
        [one] 1 aviso
       *[other] { $ba } avisos
    }, proporción { $ratio }; tasa de respuesta de { $b } { $rate_b }, de { $a } { $rate_a }

## Conciliación: diferencias, aviso por aviso
ledger-diff-missing-here = el relé aceptó el aviso { $tip } de { $me } (n.º { $seq }, de { $author }); los registros de { $me } no tienen ese aviso
ledger-diff-receipt-not-held = el relé aceptó el aviso { $tip } (n.º { $seq }); { $me } no tiene su recibo
ledger-diff-ack-not-received = el relé registró la confirmación de { $to } del aviso { $tip }; { $me } no la ha recibido
ledger-diff-ack-unknown-to-relay = { $me } tiene la confirmación de { $to } del aviso { $tip }; el relé no tiene ninguna confirmación registrada
ledger-diff-delivered-unacked = según el relé, el aviso { $tip } se entregó a { $to }; { $to } no lo ha confirmado
ledger-diff-undelivered = el relé aún no ha entregado el aviso { $tip } a { $to }
ledger-diff-feedback-at-relay = el relé tiene { $relay ->
        [one] 1 respuesta
       *[other] { $relay } respuestas
    } sobre el aviso { $tip }; { $me } ha recibido { $here }
ledger-diff-not-received = el relé aceptó el aviso { $tip } de { $from } para { $me } (n.º { $seq }); { $me } no lo ha recibido
ledger-diff-not-acked-here = { $me } tiene el aviso { $tip } de { $from }, pero no lo ha confirmado
ledger-diff-acked-unknown-to-relay = { $me } confirmó el aviso { $tip }; el relé no tiene ninguna confirmación registrada
ledger-diff-feedback-given = { $me } dio { $here ->
        [one] 1 respuesta
       *[other] { $here } respuestas
    } sobre el aviso { $tip }; el relé tiene { $relay }
ledger-diff-not-accepted = { $me } dice que envió el aviso { $tip } a { $to }; el relé no tiene su recibo
ledger-diff-relay-missing = { $me } tiene el recibo del relé del aviso { $tip } ({ $from }→{ $to }, n.º { $seq }); el relé no tiene constancia de él
ledger-diff-numbered-differently = el relé de { $home } le dio el número { $seq } en { $from } → { $to }; el relé de { $peer }, el { $other }
ledger-diff-missing-at-peer = el relé de { $home } lo tiene como número { $seq } de { $from } → { $to }; el relé de { $peer } tiene números cercanos en esa dirección, pero no este: dice que nunca lo recibió
ledger-diff-not-across = aceptado por el relé de { $home } como número { $seq } de { $from } → { $to }; el relé de { $peer } aún no lo ha recibido
ledger-diff-missing-at-home = el relé de { $peer } lo tiene como número { $seq } de { $from } → { $to }; el relé de { $home } tiene números cercanos en esa dirección, pero no este
ledger-diff-statement-tips = la declaración de { $side } cubre { $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    } (resumen { $digest }); el relé tiene { $held } para { $start }–{ $end } (resumen { $held_digest })
ledger-diff-statement-count = { $from }→{ $to } { $category }: { $side } declara { $stated } { $what }; el relé tiene { $held }
ledger-what-accepted = { $count ->
        [one] aceptado
       *[other] aceptados
    }
ledger-what-acknowledged = { $count ->
        [one] confirmado
       *[other] confirmados
    }
ledger-what-feedback = con respuesta
ledger-diff-peer-unsigned = los registros del relé de { $peer } difieren de su propia declaración firmada: { $detail }
ledger-diff-peer-unavailable = no se pudo consultar al relé de { $peer } a través del nuestro ({ $reason }); lo que cruzó el enlace no se concilia

## Conciliación: qué se comparó y el veredicto
ledger-compared-local = registros de { $authors } ({ $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    })
ledger-compared-relay = registros del relé ({ $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    })
ledger-compared-relay-others = registros del relé ({ $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    }; { $others ->
        [one] 1 lo escribió
       *[other] { $others } los escribieron
    } otros principales de { $me }: se comparan con los registros de sus autores solo si se combinan con --merge)
ledger-compared-peer = registros del relé de { $peer } ({ $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    })
ledger-compared-peer-signed = registros del relé de { $peer } ({ $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    }, tal como indica su declaración firmada)
ledger-compared-peer-unavailable = registros del relé de { $peer }: NO DISPONIBLES
ledger-compared-statement = declaración de { $side } { $id } de { $by } ({ $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    })
ledger-compared-none = no hay declaración de la contraparte para este periodo
ledger-compared = se comparó: { $list }
ledger-all-agree = todas las vistas coinciden
ledger-col-tip = aviso
ledger-col-kind = tipo
ledger-col-difference = diferencia
ledger-discrepancies = { $count ->
        [one] 1 discrepancia
       *[other] { $count } discrepancias
    }
ledger-no-answer = sin respuesta

## tipctl ledger: comandos
ledger-grace-not-duration = «{ $given }» no es una duración como 1h, 30m o 2d
ledger-grace-unit = «{ $given }»: la unidad debe ser s, m, h o d
ledger-cannot-read = no se puede leer { $path }
ledger-cannot-write = no se puede escribir { $path }
ledger-merge-bad-principal = { $path }: principal no válido
ledger-merge-other-jurisdiction = { $path }: registros de { $who }, no de un principal de { $jurisdiction }
ledger-no-counterpart = no hay ninguna jurisdicción contraparte configurada ([[trust]] solo incluye la suya)
ledger-several-counterparts = hay varias contrapartes configuradas ({ $list }); elija una con --to
ledger-export-written = { $count ->
        [one] 1 registro de aviso
       *[other] { $count } registros de avisos
    } de { $principal } escritos en { $path }
ledger-statement-unacceptable = la declaración no es aceptable: { $why }
ledger-statement-other-period = cubre del { $start } al { $end }, no el periodo conciliado (del { $from } al { $until })
ledger-unreachable-statements = relé inalcanzable; se muestran las declaraciones guardadas aquí: { $reason }
ledger-no-statements = no se ha recibido ninguna declaración
ledger-statement-line = { $id }  { $jurisdiction } del { $start } al { $end }  por { $by }  { $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    }, resumen { $digest }
ledger-unreachable-counting = relé inalcanzable; se cuenta lo que hay aquí: { $reason }
ledger-relay-needed = para esto hace falta el relé (use --offline para contar solo los registros locales)
ledger-report-written = tipctl: informe escrito en { $path } ({ $rows ->
        [one] 1 fila
       *[other] { $rows } filas
    }, { $open ->
        [one] 1 pendiente
       *[other] { $open } pendientes
    }, conciliación: { $reconciliation })
ledger-report-not-run = no se ejecutó (relé inalcanzable)
ledger-statement-where = indique adónde va la declaración: --out ARCHIVO, --send o ambos
ledger-unreachable-statement = relé inalcanzable; la declaración cubre lo que hay aquí: { $reason }
ledger-statement-signed = declaración { $id } de { $by } para { $start }–{ $end }: { $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    }, resumen { $digest }
ledger-statement-file = escrita en { $path }
ledger-statement-sent = enviada a { $to } a través del relé: recibo n.º { $seq } del { $at }
ledger-reconcile-needs-records = la conciliación necesita los registros del relé
ledger-reconcile-needs-relay = la conciliación necesita el relé
ledger-report-lang = idioma de informe desconocido «{ $lang }»: use `en` (inglés) o `es` (español)

## tipctl audit
audit-cannot-open = no se puede abrir { $path }
audit-no-roots = no hay raíces contra las que comprobar las firmas: use --config ARCHIVO (sus raíces configuradas) o --anchors-from-bundle (las raíces del propio paquete; compare las huellas que imprime)
audit-valid-relay = VÁLIDO: el registro del relé { $log }, entradas { $first }..{ $end } ({ $count }), { $checkpoints ->
        [one] 1 punto de control firmado
       *[other] { $checkpoints } puntos de control firmados
    }, verificado en { $secs } s
audit-valid-local = VÁLIDO: el registro de auditoría local de { $log }, entradas { $first }..{ $end } ({ $count }), { $checkpoints ->
        [one] 1 punto de control firmado
       *[other] { $checkpoints } puntos de control firmados
    }, verificado en { $secs } s
audit-head = cabeza del registro: tamaño { $size }, raíz { $root }, firmada el { $time } por { $by }
audit-cosigned-by = cofirmado por: { $list }
audit-cosigned-nobody = cofirmado por: nadie todavía
audit-roots-configured = firmas comprobadas contra las raíces configuradas para { $principal }
audit-roots-bundle = firmas comprobadas contra las raíces que trae el paquete; compare sus huellas:
audit-invalid = NO VÁLIDO: { $reason }
audit-bundle-unverified = el paquete no se verifica: { $reason }
audit-col-index = #
audit-col-time = hora
audit-col-event = evento
audit-col-principal = principal
audit-col-direction = de→para
audit-col-tip = aviso
audit-col-category = categoría
audit-col-seq = n.º
audit-col-code = código/resultado
audit-log-count = { $count ->
        [one] 1 entrada
       *[other] { $count } entradas
    } (paquete verificado)
audit-checkpoint-held = punto de control verificado aquí: tamaño { $size }, raíz { $root }, firmado el { $time } ({ $log })
audit-no-checkpoint = aún no se ha verificado aquí ningún punto de control
audit-cosigned-now = cofirmado ahora por { $principal }
audit-alert = ALERTA { $time }: { $alert }
audit-out-exists = { $path } ya existe; elija otro nombre
audit-local-empty = el registro de auditoría local de este principal aún está vacío
audit-export-written = se escribió { $path }: registro de auditoría local de { $principal }, { $count ->
        [one] 1 entrada
       *[other] { $count } entradas
    }, raíz { $root }
audit-proven = PROBADO: el aviso { $tip }, aceptado como entrada { $index } (n.º { $seq }, { $time }), está en el registro del relé de { $size ->
        [one] 1 entrada
       *[other] { $size } entradas
    }, raíz { $root }
audit-proof-checkpoint = punto de control firmado el { $time } por { $by }; cofirmado por: { $cosigners }
audit-nobody-yet = nadie todavía

## El registro de auditoría del relé, comprobado por el cliente
audit-unexpected-answer = respuesta inesperada a `{ $request }`
audit-future-checkpoint = tiene fecha en el futuro
audit-local-not-relay = es el registro local de { $log }, no el del relé
audit-no-receipt-yet = { $tip } (aún no tiene recibo)
audit-a-relay-checkpoint = un punto de control del relé
audit-no-entry = el relé no devolvió la entrada de este aviso
audit-entry-unreadable = la entrada del registro es ilegible: { $reason }
audit-entry-mismatch = la entrada { $index } no es la aceptación del aviso { $tip } que indica su recibo
audit-inclusion-failed = la prueba de inclusión no se verifica: { $reason }
audit-alert-no-checkpoint = el relé ya no muestra ningún punto de control firmado, pero este cliente verificó uno de tamaño { $size } (raíz { $root }): su registro se hizo retroceder o se sustituyó
audit-alert-unverified = el punto de control más reciente del relé no se verifica: { $reason }
audit-alert-earlier = el punto de control del relé tiene fecha { $time }, anterior a la del verificado antes ({ $before })
audit-alert-other-log = el registro del relé ahora es { $log }, no { $before }
audit-alert-shrank = el registro del relé se redujo de { $before } entradas (verificado antes, raíz { $before_root }) a { $size } (raíz { $root }): se hizo retroceder
audit-alert-two-roots = dos raíces firmadas distintas para las primeras { $size } entradas ({ $before_root } verificada antes, { $root } ahora): el relé muestra historias distintas
audit-alert-no-proof = el relé firmó un punto de control de { $size } entradas, pero no quiere probar que extiende el de { $before } verificado antes
audit-alert-not-extending = el punto de control del relé de { $size } entradas no extiende el de { $before } verificado antes ({ $reason }): el relé muestra historias distintas
audit-alert-cosign-refused = el relé rechazó la cofirma de este cliente: { $reason }

## Informe HTML de reciprocidad (tipctl ledger --html): etiquetas; el informe rellena { $a0 }…
report-title = Informe de reciprocidad
report-view = Registros de
report-pairs = Jurisdicciones
report-range = Intervalo
report-all-time = todo el historial
report-from-to = del { $a0 } al { $a1 }
report-granularity = Granularidad del periodo
report-day = día
report-week = semana ISO
report-month = mes
report-prepared-by = Elaborado por
report-generated = Generado el
report-h-summary = Resumen de reciprocidad
report-h-tips = Avisos enviados por dirección
report-h-latency = Latencia de la confirmación
report-h-outcomes = Resultados de las respuestas
report-h-open = Asuntos pendientes
report-h-recon = Conciliación
report-direction = Dirección
report-tips-accepted = Avisos aceptados
report-ack-col = Confirmación
report-feedback-col = Respuesta
report-ratio = Proporción
report-rates-note = Los porcentajes se calculan sobre los avisos aceptados en esa dirección.
report-category = Categoría
report-period = Periodo
report-accepted = Aceptados
report-delivered = Entregados
report-acknowledged = Confirmados
report-with-feedback = Con respuesta
report-no-tips = No hay avisos en este intervalo.
report-per-period-chart = Avisos aceptados por periodo y dirección
report-acks = Confirmaciones
report-ack-time = Tiempo hasta la confirmación (mediana/p90)
report-fb-time = Tiempo hasta la primera respuesta (mediana/p90)
report-latency-note = Medido desde la aceptación por el relé. Las medianas de periodos distintos no se pueden combinar: la tabla muestra cada periodo y el gráfico, el más reciente.
report-no-acks = No hay confirmaciones en este intervalo.
report-outcome = Resultado
report-total = Total
report-outcomes-note = Respuestas por resultado (un aviso puede recibir varias).
report-outcomes-chart = Resultados de las respuestas por dirección
report-no-feedback = No hay respuestas en este intervalo.
report-tip = Aviso
report-kind = Tipo
report-age = Antigüedad
report-unacked = Sin confirmar
report-no-fb = Sin respuesta
report-rule-ack = { $a0 }: aceptado por el relé hace más de { $a1 } y sin confirmación del destinatario.
report-rule-fb = { $a0 }: con confirmación, pero sin respuesta más de { $a1 } después de su aceptación.
report-one-day = 1 día
report-days = { $a0 } días
report-no-open = No hay asuntos pendientes.
report-and-more = … y { $a0 } más.
report-compared = Vistas comparadas
report-agree = Todas las vistas coinciden.
report-disagree = Discrepancias encontradas: { $a0 }
report-not-run = No se ejecutó la conciliación.
report-message = Mensaje
report-summary-chart = Avisos, confirmaciones y respuestas: { $a0 }
report-last-periods = El gráfico muestra los últimos { $a0 } de { $a1 } periodos.
report-median-chart = Mediana del tiempo hasta la confirmación, periodo { $a0 }
report-category-armed_group_crossing = Cruce de grupo armado
report-category-tunnel_located = Túnel localizado
report-category-fentanyl_precursors = Precursores de fentanilo
report-category-drug_shipment = Cargamento de drogas
report-category-arms_trafficking = Tráfico de armas
report-category-fuel_theft = Robo de combustible
report-category-illicit_finance = Finanzas ilícitas
report-category-human_smuggling = Tráfico de personas
report-category-irregular_migration = Migración irregular
report-category-other = Otro
report-outcome-under_review = En revisión
report-outcome-actioned = Atendida
report-outcome-interdicted = Interceptada
report-outcome-arrest = Detención
report-outcome-seizure = Aseguramiento
report-outcome-unfounded = Infundada
report-outcome-duplicate = Duplicada
report-outcome-outside_jurisdiction = Fuera de jurisdicción
report-month-1 = enero
report-month-2 = febrero
report-month-3 = marzo
report-month-4 = abril
report-month-5 = mayo
report-month-6 = junio
report-month-7 = julio
report-month-8 = agosto
report-month-9 = septiembre
report-month-10 = octubre
report-month-11 = noviembre
report-month-12 = diciembre
report-date = { $day } de { $month } de { $year }
report-date-time = { $date }, { $time } UTC
