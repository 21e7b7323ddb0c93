<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
  <context>
    <name>kiosk</name>
    <message>
      <source>Human verification</source>
      <translation>Menschen-Prüfung</translation>
    </message>
    <message>
      <source>Step in front of the camera, or press Start.</source>
      <translation>Treten Sie vor die Kamera oder drücken Sie Start.</translation>
    </message>
    <message>
      <source>Welcome</source>
      <translation>Willkommen</translation>
    </message>
    <message>
      <source>Choose what suits you: touch it or press its number. Then press Start or say "start".</source>
      <translation>Wählen Sie, was zu Ihnen passt: Tippen Sie darauf oder drücken Sie seine Nummer. Dann drücken Sie Start oder sagen „Start“.</translation>
    </message>
    <message>
      <source>Start</source>
      <translation>Start</translation>
    </message>
    <message>
      <source>Look at the camera</source>
      <translation>Schauen Sie in die Kamera</translation>
    </message>
    <message>
      <source>Keep your face in the frame and stay still for a moment.</source>
      <translation>Halten Sie Ihr Gesicht im Bild und bleiben Sie einen Moment ruhig.</translation>
    </message>
    <message>
      <source>Step {index} of {total}</source>
      <translation>Schritt {index} von {total}</translation>
    </message>
    <message>
      <source>Tries left: {n}</source>
      <translation>Verbleibende Versuche: {n}</translation>
    </message>
    <message>
      <source>{n} s</source>
      <translation>{n} s</translation>
    </message>
    <message>
      <source>Hold it</source>
      <translation>Halten</translation>
    </message>
    <message>
      <source>Well done. Next step coming.</source>
      <translation>Gut gemacht. Der nächste Schritt kommt.</translation>
    </message>
    <message>
      <source>Not this time. Next step coming.</source>
      <translation>Diesmal nicht. Der nächste Schritt kommt.</translation>
    </message>
    <message>
      <source>More time</source>
      <translation>Mehr Zeit</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Abbrechen</translation>
    </message>
    <message>
      <source>Voice on</source>
      <translation>Sprache an</translation>
    </message>
    <message>
      <source>Voice off</source>
      <translation>Sprache aus</translation>
    </message>
    <message>
      <source>Speak a command</source>
      <translation>Befehl sprechen</translation>
    </message>
    <message>
      <source>Listening…</source>
      <translation>Ich höre zu …</translation>
    </message>
    <message>
      <source>Help</source>
      <translation>Hilfe</translation>
    </message>
    <message>
      <source>Verified</source>
      <translation>Bestätigt</translation>
    </message>
    <message>
      <source>You are verified. Thank you.</source>
      <translation>Sie sind bestätigt. Vielen Dank.</translation>
    </message>
    <message>
      <source>Not verified</source>
      <translation>Nicht bestätigt</translation>
    </message>
    <message>
      <source>We could not verify you. Please try again, or ask a member of staff.</source>
      <translation>Wir konnten Sie nicht bestätigen. Bitte versuchen Sie es erneut oder wenden Sie sich an das Personal.</translation>
    </message>
    <message>
      <source>We could not see you well enough. Please face the light, come a little closer, and try again, or ask a member of staff.</source>
      <translation>Wir konnten Sie nicht gut genug sehen. Bitte wenden Sie sich dem Licht zu, kommen Sie etwas näher und versuchen Sie es erneut, oder wenden Sie sich an das Personal.</translation>
    </message>
    <message>
      <source>Please wait</source>
      <translation>Bitte warten</translation>
    </message>
    <message>
      <source>Too many attempts. The kiosk is available again in {minutes} min.</source>
      <translation>Zu viele Versuche. Das Terminal ist in {minutes} Min. wieder verfügbar.</translation>
    </message>
    <message>
      <source>Camera not available</source>
      <translation>Kamera nicht verfügbar</translation>
    </message>
    <message>
      <source>The camera is not working. We keep trying; please ask a member of staff if this stays.</source>
      <translation>Die Kamera funktioniert nicht. Wir versuchen es weiter; bitte wenden Sie sich an das Personal, wenn das so bleibt.</translation>
    </message>
    <message>
      <source>Out of service</source>
      <translation>Außer Betrieb</translation>
    </message>
    <message>
      <source>This kiosk cannot verify at the moment: {what}. Please ask a member of staff.</source>
      <translation>Dieses Terminal kann gerade nicht prüfen: {what}. Bitte wenden Sie sich an das Personal.</translation>
    </message>
    <message>
      <source>Follow the picture and the spoken instruction, and hold each pose until the bar is full. The countdown waits while this help is shown. Press M or say "more time" if you need longer. Press R or say "repeat" to hear the instruction again. Press C or say "cancel" to stop. Press V to switch the voice on or off, and L to speak a command. Press H or touch Help again to go on.</source>
      <translation>Folgen Sie dem Bild und der gesprochenen Anweisung und halten Sie jede Haltung, bis der Balken voll ist. Der Countdown wartet, solange diese Hilfe angezeigt wird. Drücken Sie M oder sagen Sie „mehr Zeit“, wenn Sie länger brauchen. Drücken Sie R oder sagen Sie „wiederholen“, um die Anweisung noch einmal zu hören. Drücken Sie C oder sagen Sie „abbrechen“, um aufzuhören. Drücken Sie V, um die Sprache ein- oder auszuschalten, und L, um einen Befehl zu sprechen. Drücken Sie H oder tippen Sie noch einmal auf Hilfe, um weiterzumachen.</translation>
    </message>
    <message>
      <source>Paused</source>
      <translation>Pause</translation>
    </message>
    <message>
      <source>You have more time.</source>
      <translation>Sie haben mehr Zeit.</translation>
    </message>
    <message>
      <source>No more time can be added for this step.</source>
      <translation>Für diesen Schritt ist keine weitere Zeit möglich.</translation>
    </message>
    <message>
      <source>No microphone is available. Please use the buttons or the keys.</source>
      <translation>Kein Mikrofon verfügbar. Bitte benutzen Sie die Tasten oder Schaltflächen.</translation>
    </message>
    <message>
      <source>Sorry, I did not understand. Say start, repeat, help, more time or cancel.</source>
      <translation>Entschuldigung, das habe ich nicht verstanden. Sagen Sie Start, Wiederholen, Hilfe, Mehr Zeit oder Abbrechen.</translation>
    </message>
    <message>
      <source>Voice commands are not available right now. Please use the buttons or the keys.</source>
      <translation>Sprachbefehle sind gerade nicht verfügbar. Bitte benutzen Sie die Tasten oder Schaltflächen.</translation>
    </message>
    <message>
      <source>That choice is not offered at this kiosk. Please choose another one, or ask a member of staff.</source>
      <translation>Diese Auswahl gibt es an diesem Terminal nicht. Bitte wählen Sie eine andere oder fragen Sie das Personal.</translation>
    </message>
    <message>
      <source>Starting now.</source>
      <translation>Es geht jetzt los.</translation>
    </message>
    <message>
      <source>We lost sight of your face. Please start again.</source>
      <translation>Ihr Gesicht ist nicht mehr zu sehen. Bitte beginnen Sie erneut.</translation>
    </message>
    <message>
      <source>Admin PIN: {dots}</source>
      <translation>Admin-PIN: {dots}</translation>
    </message>
    <message>
      <source>Wrong PIN. {n} tries left before the admin exit locks.</source>
      <translation>Falsche PIN. Noch {n} Versuche, dann wird der Admin-Ausgang gesperrt.</translation>
    </message>
    <message>
      <source>Too many wrong PINs. The admin exit is locked for {minutes} min.</source>
      <translation>Zu viele falsche PINs. Der Admin-Ausgang ist für {minutes} Min. gesperrt.</translation>
    </message>
    <message>
      <source>Welcome. Choose what suits you. Nobody is checked before you have had time to choose.</source>
      <translation>Willkommen. Wählen Sie, was zu Ihnen passt. Die Prüfung beginnt erst, wenn Sie Zeit zum Wählen hatten.</translation>
    </message>
    <message>
      <source>{label}: press {key}, touch the button, or say "{word}".</source>
      <translation>{label}: Drücken Sie {key}, tippen Sie auf die Schaltfläche oder sagen Sie „{word}“.</translation>
    </message>
    <message>
      <source>To start, press Space, Enter or S, touch Start, or say "{word}". If you choose nothing, the check starts by itself after a short pause.</source>
      <translation>Zum Starten drücken Sie die Leertaste, Eingabe oder S, tippen Sie auf Start oder sagen Sie „{word}“. Wenn Sie nichts wählen, beginnt die Prüfung nach einer kurzen Pause von selbst.</translation>
    </message>
    <message>
      <source>Step in front of the camera, or press S, to begin. Press H for help at any time.</source>
      <translation>Treten Sie vor die Kamera oder drücken Sie S, um zu beginnen. Mit H erhalten Sie jederzeit Hilfe.</translation>
    </message>
    <message>
      <source>Cancel the session? Press C again or say "yes". Press N or say "no" to go on.</source>
      <translation>Die Prüfung abbrechen? Drücken Sie noch einmal C oder sagen Sie „ja“. Drücken Sie N oder sagen Sie „nein“, um weiterzumachen.</translation>
    </message>
    <message>
      <source>We go on.</source>
      <translation>Es geht weiter.</translation>
    </message>
    <message>
      <source>Yes, cancel</source>
      <translation>Ja, abbrechen</translation>
    </message>
    <message>
      <source>No, go on</source>
      <translation>Nein, weiter</translation>
    </message>
    <message>
      <source>Switch the voice off? Press V or say "yes". Press N or say "no" to keep it.</source>
      <translation>Die Sprache ausschalten? Drücken Sie V oder sagen Sie „ja“. Drücken Sie N oder sagen Sie „nein“, um sie anzulassen.</translation>
    </message>
    <message>
      <source>Yes, switch it off</source>
      <translation>Ja, ausschalten</translation>
    </message>
    <message>
      <source>No, keep it on</source>
      <translation>Nein, anlassen</translation>
    </message>
    <message>
      <source>Chosen: {label}. To start, press Space or say "{word}".</source>
      <translation>Gewählt: {label}. Zum Starten drücken Sie die Leertaste oder sagen Sie „{word}“.</translation>
    </message>
    <message>
      <source>Session cancelled.</source>
      <translation>Die Prüfung wurde abgebrochen.</translation>
    </message>
    <message>
      <source>Too many attempts. Please wait {minutes} min, then step in front of the camera again.</source>
      <translation>Zu viele Versuche. Bitte warten Sie {minutes} Min. und treten Sie dann wieder vor die Kamera.</translation>
    </message>
    <message>
      <source>Only one person in front of the camera, please.</source>
      <translation>Bitte nur eine Person vor der Kamera.</translation>
    </message>
    <message>
      <source>Standard</source>
      <translation>Standard</translation>
    </message>
    <message>
      <source>I can't use my hands</source>
      <translation>Ich kann meine Hände nicht benutzen</translation>
    </message>
    <message>
      <source>I can't make facial expressions</source>
      <translation>Ich kann keine Mimik zeigen</translation>
    </message>
    <message>
      <source>I can't turn my head</source>
      <translation>Ich kann meinen Kopf nicht drehen</translation>
    </message>
    <message>
      <source>I can't see the screen</source>
      <translation>Ich kann den Bildschirm nicht sehen</translation>
    </message>
    <message>
      <source>It is too dark. Please turn your face towards the light.</source>
      <translation>Es ist zu dunkel. Bitte wenden Sie Ihr Gesicht zum Licht.</translation>
    </message>
    <message>
      <source>The light is behind you. Please turn so that the light falls on your face.</source>
      <translation>Das Licht ist hinter Ihnen. Bitte drehen Sie sich so, dass das Licht auf Ihr Gesicht fällt.</translation>
    </message>
    <message>
      <source>Too much light on your face. Please step out of the bright light.</source>
      <translation>Zu viel Licht auf Ihrem Gesicht. Bitte treten Sie aus dem hellen Licht.</translation>
    </message>
    <message>
      <source>You are too far away. Please come closer to the camera.</source>
      <translation>Sie sind zu weit weg. Bitte kommen Sie näher an die Kamera.</translation>
    </message>
    <message>
      <source>The picture is blurred. Please hold still for a moment.</source>
      <translation>Das Bild ist unscharf. Bitte halten Sie einen Moment still.</translation>
    </message>
    <message>
      <source>Your face is not fully in the picture. Please move to the middle.</source>
      <translation>Ihr Gesicht ist nicht ganz im Bild. Bitte gehen Sie zur Mitte.</translation>
    </message>
    <message>
      <source>Turn the palm of your hand towards the camera.</source>
      <translation>Drehen Sie die Handfläche zur Kamera.</translation>
    </message>
    <message>
      <source>Point your fingers up, towards the ceiling.</source>
      <translation>Zeigen Sie mit den Fingern nach oben, zur Decke.</translation>
    </message>
    <message>
      <source>Turn your head left</source>
      <translation>Kopf nach links drehen</translation>
    </message>
    <message>
      <source>Turn your head to your left and hold it.</source>
      <translation>Drehen Sie den Kopf nach links und halten Sie ihn so.</translation>
    </message>
    <message>
      <source>Turn your head right</source>
      <translation>Kopf nach rechts drehen</translation>
    </message>
    <message>
      <source>Turn your head to your right and hold it.</source>
      <translation>Drehen Sie den Kopf nach rechts und halten Sie ihn so.</translation>
    </message>
    <message>
      <source>Look up</source>
      <translation>Nach oben schauen</translation>
    </message>
    <message>
      <source>Tilt your head up, look at the ceiling, and hold it.</source>
      <translation>Neigen Sie den Kopf nach oben, schauen Sie zur Decke und halten Sie ihn so.</translation>
    </message>
    <message>
      <source>Look down</source>
      <translation>Nach unten schauen</translation>
    </message>
    <message>
      <source>Tilt your head down, look at the floor, and hold it.</source>
      <translation>Neigen Sie den Kopf nach unten, schauen Sie zum Boden und halten Sie ihn so.</translation>
    </message>
    <message>
      <source>Thumbs up</source>
      <translation>Daumen hoch</translation>
    </message>
    <message>
      <source>Make a fist and point your thumb up.</source>
      <translation>Machen Sie eine Faust und strecken Sie den Daumen nach oben.</translation>
    </message>
    <message>
      <source>Thumbs down</source>
      <translation>Daumen runter</translation>
    </message>
    <message>
      <source>Make a fist and point your thumb down.</source>
      <translation>Machen Sie eine Faust und strecken Sie den Daumen nach unten.</translation>
    </message>
    <message>
      <source>Call me</source>
      <translation>Ruf mich an</translation>
    </message>
    <message>
      <source>Stretch out your thumb and little finger, fold the others.</source>
      <translation>Strecken Sie Daumen und kleinen Finger aus, die anderen Finger eingeklappt.</translation>
    </message>
    <message>
      <source>Four fingers</source>
      <translation>Vier Finger</translation>
    </message>
    <message>
      <source>Hold up four fingers, thumb folded in.</source>
      <translation>Zeigen Sie vier Finger, der Daumen ist eingeklappt.</translation>
    </message>
    <message>
      <source>Open hand</source>
      <translation>Offene Hand</translation>
    </message>
    <message>
      <source>Hold up your open hand, fingers spread and up, palm to the camera.</source>
      <translation>Zeigen Sie die offene Hand, Finger gespreizt und nach oben, Handfläche zur Kamera.</translation>
    </message>
    <message>
      <source>Victory</source>
      <translation>Victory-Zeichen</translation>
    </message>
    <message>
      <source>Hold up your index and middle finger in a V.</source>
      <translation>Zeigen Sie Zeige- und Mittelfinger als V.</translation>
    </message>
    <message>
      <source>OK sign</source>
      <translation>OK-Zeichen</translation>
    </message>
    <message>
      <source>Touch your thumb and index finger in a ring, other fingers up.</source>
      <translation>Bilden Sie mit Daumen und Zeigefinger einen Ring, die anderen Finger nach oben.</translation>
    </message>
    <message>
      <source>Mamma mia</source>
      <translation>Mamma mia</translation>
    </message>
    <message>
      <source>Pinch all your fingertips together, pointing up.</source>
      <translation>Legen Sie alle Fingerspitzen zusammen, nach oben zeigend.</translation>
    </message>
    <message>
      <source>Fingers crossed</source>
      <translation>Finger gekreuzt</translation>
    </message>
    <message>
      <source>Cross your middle finger over your index finger.</source>
      <translation>Kreuzen Sie den Mittelfinger über den Zeigefinger.</translation>
    </message>
    <message>
      <source>Fist</source>
      <translation>Faust</translation>
    </message>
    <message>
      <source>Make a fist.</source>
      <translation>Machen Sie eine Faust.</translation>
    </message>
    <message>
      <source>One finger</source>
      <translation>Ein Finger</translation>
    </message>
    <message>
      <source>Hold up your index finger.</source>
      <translation>Strecken Sie den Zeigefinger nach oben.</translation>
    </message>
    <message>
      <source>Rock on</source>
      <translation>Rock-Zeichen</translation>
    </message>
    <message>
      <source>Hold up your index and little finger, fold the others.</source>
      <translation>Strecken Sie Zeigefinger und kleinen Finger aus, die anderen eingeklappt.</translation>
    </message>
    <message>
      <source>Happy</source>
      <translation>Fröhlich</translation>
    </message>
    <message>
      <source>Smile widely and show your teeth</source>
      <translation>Lächeln Sie breit und zeigen Sie die Zähne</translation>
    </message>
    <message>
      <source>Surprised</source>
      <translation>Überrascht</translation>
    </message>
    <message>
      <source>Raise your eyebrows high and open your mouth wide</source>
      <translation>Ziehen Sie die Augenbrauen hoch und öffnen Sie den Mund weit</translation>
    </message>
    <message>
      <source>Neutral</source>
      <translation>Neutral</translation>
    </message>
    <message>
      <source>Relax your face and look straight ahead, no smile</source>
      <translation>Entspannen Sie das Gesicht und schauen Sie geradeaus, ohne zu lächeln</translation>
    </message>
    <message>
      <source>Angry</source>
      <translation>Wütend</translation>
    </message>
    <message>
      <source>Frown hard, pull your eyebrows down and together, press your lips</source>
      <translation>Runzeln Sie die Stirn, ziehen Sie die Augenbrauen nach unten und zusammen, pressen Sie die Lippen aufeinander</translation>
    </message>
    <message>
      <source>Sad</source>
      <translation>Traurig</translation>
    </message>
    <message>
      <source>Turn the corners of your mouth down and raise the inner eyebrows</source>
      <translation>Ziehen Sie die Mundwinkel nach unten und heben Sie die inneren Augenbrauen</translation>
    </message>
    <message>
      <source>Afraid</source>
      <translation>Ängstlich</translation>
    </message>
    <message>
      <source>Open your eyes wide, raise your eyebrows and stretch your lips sideways</source>
      <translation>Reißen Sie die Augen auf, heben Sie die Augenbrauen und ziehen Sie die Lippen zur Seite</translation>
    </message>
    <message>
      <source>Disgusted</source>
      <translation>Angeekelt</translation>
    </message>
    <message>
      <source>Wrinkle your nose and raise your upper lip</source>
      <translation>Rümpfen Sie die Nase und heben Sie die Oberlippe</translation>
    </message>
  </context>
</TS>
