# tiprelay: mensajes en español, demo.
# La narración de `tiprelay-demo`: cada paso, sus líneas de detalle, el resumen y los
# errores que informa. Los resúmenes de los avisos y los códigos de resultado y de entrada
# son datos y se muestran tal cual.

## Errores
demo-err-runtime = no se pudo iniciar el entorno de ejecución asíncrono
demo-err-tempdir = no se pudo crear un directorio temporal
demo-err-bind = no se pudo reservar un puerto UDP local
demo-err-fresh-dir = la demo necesita un directorio nuevo: { $dir } no debe existir todavía
demo-err-outbox-missing = falta la entrada de la bandeja de salida
demo-err-unexpected = la demo no vio lo que esperaba (confirmaciones { $mx }/{ $us }, reenvío duplicado { $duplicate })
demo-err-discrepancies = la conciliación encontró { $count ->
        [one] 1 discrepancia
       *[other] { $count } discrepancias
    }
demo-err-no-checkpoint = el relé no firmó ningún punto de control
demo-err-different-checkpoints = a MX y a US se les mostraron puntos de control distintos
demo-err-bundle-invalid = el paquete de auditoría exportado no se verifica: { $reason }
demo-err-not-cosigned = la cabeza del registro no está cofirmada por ambas jurisdicciones
demo-err-timeout = { $what }: no ocurrió en { $seconds } s
demo-discrepancy = DISCREPANCIA { $kind }: { $message }

## La demo con un relé
demo-step-pki = Cada jurisdicción crea su propia CA raíz; el operador del relé crea la suya.
demo-pki-made =
    CA raíz de MX, CA raíz de US, CA del operador del relé, listas de revocación (CRL) y, para cada lado, un analista y una alimentación
    (certificados TLS y de firma con claves separadas) en { $dir }
demo-step-relay = El relé arranca en { $addr } (QUIC, TLS 1.3, TLS mutuo, ALPN tiprelay/1).
demo-connected = { $mx } y { $us } conectados y autenticados
demo-step-mx-tip = El analista de MX avisa de un grupo armado a punto de cruzar (firmado, escrito en la bandeja de salida y luego enviado).
demo-tip-sent = aviso { $id } → { $to }, { $tlp }, { $urgency }
demo-receipt = recibo: n.º { $seq } (MX→US), aceptado el { $accepted }, firmado por { $relay }; verificado en { $ms } ms
demo-step-us-fetches = El analista de US trae el aviso, verifica él mismo la firma del autor (sin confiar en el relé), lo guarda y lo confirma.
demo-received = recibido el n.º { $seq } de { $from }: «{ $summary }»
demo-verified-signer = firmante verificado: { $signer } (cadena hasta la CA raíz de MX, no revocado); confirmado
demo-latency = latencia de extremo a extremo (redacción → verificado y guardado en US): { $ms } ms
demo-step-us-tip = El analista de US avisa a MX de un túnel localizado cerca de Nogales.
demo-tip-sent-receipt = aviso { $id } → { $to }, { $tlp }, recibo n.º { $seq } (US→MX)
demo-mx-received = MX recibió el n.º { $seq }: «{ $summary }»
demo-verified-acked = firmante verificado: { $signer }; confirmado ({ $ms } ms después de la redacción)
demo-step-acks = Cada autor recoge la confirmación firmada de su contraparte; un reenvío recibe como respuesta el recibo original.
demo-acked-by = { $who }: aviso { $id } confirmado por { $by }
demo-nobody-yet = (nadie todavía)
demo-replay = MX reenvía el aviso { $id }: duplicate={ $duplicate }, mismo recibo n.º { $seq }
demo-step-feedback = US informa qué resultó del aviso de MX: una respuesta firmada, transmitida a su autor con un recibo.
demo-feedback-sent = respuesta de US sobre { $id }: { $first } y después { $then } (recibo n.º { $seq })
demo-feedback-received = MX recibió una respuesta verificada de { $by }: { $outcome }
demo-step-ledgers = Reciprocidad: el libro de reciprocidad de cada lado a partir de sus propios registros, el del relé a partir de sus escrituras, declaraciones y conciliación.
demo-ledger-of = libro de reciprocidad de { $who }:
demo-relay-ledger = libro de reciprocidad del relé (leído en solo lectura mientras funciona): { $rows ->
        [one] 1 fila
       *[other] { $rows } filas
    }; { $pairs }
demo-statement-sent = US firma su declaración de { $period }: { $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    }, resumen { $digest }…; enviada a través del relé (recibo n.º { $seq })
demo-reconciled = MX concilia sus registros ({ $mine ->
        [one] 1 aviso
       *[other] { $mine } avisos
    }), los del relé ({ $relay }) y la declaración firmada de US: todo coincide
demo-step-audit = Auditoría: ambos lados verifican que la cabeza del registro firmada del relé extiende lo que ya vieron y la cofirman; un revisor verifica el registro sin conexión.
demo-checkpoint = punto de control del relé: { $size ->
        [one] 1 entrada
       *[other] { $size } entradas
    }, raíz { $root }…, cofirmado por MX y US
demo-proved = MX prueba que la aceptación de su aviso es la entrada { $index } de ese registro ({ $hashes ->
        [one] 1 hash
       *[other] { $hashes } hashes
    }, prueba de inclusión RFC 9162)
demo-exported = { $count ->
        [one] exportada 1 entrada
       *[other] exportadas { $count } entradas
    } y { $checkpoints ->
        [one] 1 punto de control firmado
       *[other] { $checkpoints } puntos de control firmados
    }; verificado sin conexión: VÁLIDO, cabeza cofirmada por { $cosigners ->
        [one] 1 jurisdicción
       *[other] { $cosigners } jurisdicciones
    }
demo-entries = entradas: { $kinds }
demo-done =
    Listo: 2 avisos intercambiados, ambos verificados de extremo a extremo, ambos con recibo y confirmados;
    respuesta transmitida; los libros de reciprocidad de ambos lados y del relé coinciden, y la declaración firmada de US concilia;
    el registro de auditoría del relé se verifica sin conexión, con una cabeza que cofirmaron ambas jurisdicciones.
demo-kept = Se conservó { $dir }: pruebe `tipctl --config { $dir }/pki/US/analyst.toml inbox` después de `tiprelay serve --config { $dir }/pki/relay.toml`.

## La demo federada (`--federated`)
demo-fed-step-pki = Cada jurisdicción crea su CA raíz y, con ella, los certificados de su propio relé: sin terceros.
demo-fed-pki-made = { $mx } (raíz de MX) y { $us } (raíz de US), principales y configuraciones en { $dir }
demo-fed-step-relays = El relé de MX arranca en { $mx } y el de US en { $us }; se enlazan como pares por un puerto UDP cada uno.
demo-fed-connected = { $mx } conectado al relé de MX, { $us } al relé de US
demo-fed-step-mx-tip = El analista de MX avisa de un grupo armado a punto de cruzar: lo acepta en casa el relé de MX.
demo-fed-home-receipt = recibo de casa: n.º { $seq } firmado por { $relay }
demo-fed-step-crosses = Cruza el enlace: el relé de US verifica él mismo el autor y el recibo de casa, lo guarda y emite su recibo; el analista de US lo verifica y lo confirma.
demo-fed-wait-tip = el aviso llega al analista de US
demo-fed-us-received = US recibió el n.º { $seq } de { $from } ({ $ms } ms después de la redacción), con recibo de { $relay }; firmante { $signer } verificado; confirmado
demo-fed-wait-receipts = ambos recibos y la confirmación llegan al autor
demo-fed-both-receipts = MX tiene ambos recibos: n.º { $home-seq } de { $home } (casa) y n.º { $across-seq } de { $across } (al otro lado); confirmado por { $by }
demo-fed-step-feedback = US informa qué resultó: la respuesta firmada vuelve a cruzar hasta su autor.
demo-fed-wait-feedback = la respuesta llega a MX
demo-fed-step-cut = Se corta el enlace (el relé de US se detiene): MX sigue aceptando; el aviso espera, aceptado en casa, sin cruzar todavía.
demo-fed-queued = aviso de MX { $id } con recibo en casa (n.º { $seq }); relé de MX: { $count ->
        [one] 1 aviso en cola
       *[other] { $count } avisos en cola
    } para el enlace
demo-fed-err-port = el puerto del relé de US no se liberó
demo-fed-wait-drain = el aviso en cola cruza cuando vuelve el enlace
demo-fed-drained = el relé de US está de vuelta: el enlace se vacía en orden; US recibió el n.º { $seq } y lo confirmó
demo-fed-step-ledgers = Cada relé lleva su propio libro de reciprocidad: los registros de ambos relés coinciden aviso por aviso, y cada lado concilia con su propio relé.
demo-fed-wait-last = los últimos recibos vuelven a cruzar
demo-fed-err-disagree = los registros no coinciden
demo-fed-agree = el relé de MX y el de US tienen { $count ->
        [one] 1 aviso
       *[other] { $count } avisos
    } cada uno con los mismos números, todos confirmados; MX y US coinciden con sus relés
demo-fed-step-audit = Auditoría en ambos extremos: cada relé atestigua (cofirma) el registro del otro a través del enlace, y el analista de cada lado el de su propio relé; cada registro se exporta y se verifica sin conexión.
demo-fed-wait-cosign = el otro relé cofirma el punto de control más reciente de este relé
demo-fed-err-not-cosigned = el punto de control más reciente del relé de { $who } no está cofirmado por { $other }
demo-fed-err-bundle-invalid = el paquete de auditoría del relé de { $who } no se verifica: { $reason }
demo-fed-audit = relé de { $who }: punto de control de { $size ->
        [one] 1 entrada
       *[other] { $size } entradas
    } cofirmado por { $other } y { $analyst }; { $count ->
        [one] 1 entrada exportada
       *[other] { $count } entradas exportadas
    }, VÁLIDO sin conexión ({ $kinds })
demo-fed-done =
    Listo: los avisos de cada lado cruzaron la frontera exactamente una vez a través de ambos relés, con ambos recibos en manos del
    autor; la confirmación y la respuesta regresaron; un enlace cortado solo retrasó un aviso; los registros de ambos relés coinciden.
demo-fed-kept = Se conservó { $dir }: `tiprelay serve --config { $dir }/pki/MX/relay.toml` y `… { $dir }/pki/US/relay.toml`, después `tipctl --config { $dir }/pki/MX/analyst.toml status`.

## Ayuda de `tiprelay-demo` (en inglés, los comentarios de documentación)
help-tiprelay-demo = Un relé y dos jurisdicciones (MX y US) en esta máquina intercambiando avisos firmados, con recibos, confirmaciones, respuestas, libros de reciprocidad, conciliación y el registro de auditoría
help-tiprelay-demo--dir = Directorio para la PKI y los almacenes de la demo (no debe existir; por omisión, uno temporal)
help-tiprelay-demo--keep = Conservar el directorio temporal
help-tiprelay-demo--federated = Cada jurisdicción ejecuta su propio relé, y los dos relés se enlazan como pares a través de la frontera (PROTOCOL.md §14) en lugar de compartir uno
