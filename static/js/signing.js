/*
 * Signing the loan contract with the applicant's e.firma, on the device.
 *
 * The applicant chooses the certificate (.cer), the private key (.key: encrypted PKCS#8, as the
 * SAT hands it out) and types the key's password. This script, with node-forge:
 *
 *   1. reads both files (DER, or PEM if someone converted them);
 *   2. decrypts the key here, with the password;
 *   3. checks that the key belongs to the certificate (same modulus and exponent);
 *   4. sends the certificate, and only the certificate, to the "prepare" URL: the portal
 *      validates it and answers with the CMS signed attributes to sign;
 *   5. signs them here (RSASSA-PKCS1-v1_5 with SHA-256);
 *   6. sends the signature value to the "complete" URL, which verifies it, embeds it in the
 *      contract with a time stamp and answers with the signed PDF's URL.
 *
 * The key and the password never leave the device: no request carries them, and when the
 * attempt ends, well or badly, the decrypted key is dropped and the password field emptied.
 * The page (templates/loans/sign.html) gives the two URLs in data- attributes of the form
 * and every text shown here in hidden elements, so that they are translated with the rest.
 *
 * Plain ES2017 for the browsers people have on their phones; no build step.
 */
(function () {
  "use strict";

  const form = document.getElementById("signing-form");
  if (!form) {
    return;
  }

  const certificateInput = document.getElementById("signing-certificate");
  const keyInput = document.getElementById("signing-key");
  const passwordInput = document.getElementById("signing-password");
  const consentInput = document.getElementById("signing-consent");
  const submitButton = document.getElementById("signing-submit");
  const errorArea = document.getElementById("signing-error");
  const statusArea = document.getElementById("signing-status");
  const result = document.getElementById("signing-result");

  const messages = {};
  document.querySelectorAll("#signing-messages [data-message]").forEach(function (element) {
    messages[element.dataset.message] = element.textContent.trim();
  });

  // A problem found on the device: a message of the page, and the field to fix if there is one.
  class DeviceProblem extends Error {
    constructor(messageKey, field) {
      super(messageKey);
      this.messageKey = messageKey;
      this.field = field || null;
    }
  }

  // A refusal by the portal: its error code and its message, shown as it comes.
  class ServerProblem extends Error {
    constructor(code, serverMessage) {
      super(code);
      this.code = code;
      this.serverMessage = serverMessage;
    }
  }

  if (typeof window.forge === "undefined" || !window.fetch || !window.FileReader) {
    // forge.min.js did not load, or the browser is too old: say so and keep the button off.
    showError(messages["not-ready"]);
    return;
  }
  const forge = window.forge;
  const asn1 = forge.asn1;

  // An e.firma's .cer and .key weigh a few kilobytes; a larger file is some other file chosen by
  // mistake (a PDF, a photo), and is said so without reading it.
  const MAX_FILE_BYTES = 64 * 1024;

  let working = false;
  let currentStep = null;

  submitButton.disabled = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!working) {
      signContract();
    }
  });

  async function signContract() {
    clearError();
    const missing = firstMissingInput();
    if (missing) {
      showError(messages[missing.messageKey]);
      missing.field.focus();
      return;
    }

    setWorking(true);
    resetSteps();
    let privateKey = null;
    let keyBytes = null;
    let signed = false;
    try {
      startStep("read");
      const certificateFile = certificateInput.files[0];
      const keyFile = keyInput.files[0];
      if (certificateFile.size > MAX_FILE_BYTES) {
        throw new DeviceProblem("certificate-unreadable", certificateInput);
      }
      if (keyFile.size > MAX_FILE_BYTES) {
        throw new DeviceProblem("key-unreadable", keyInput);
      }
      const certificateBytes = await readFile(certificateFile);
      keyBytes = await readFile(keyFile);
      const certificate = parseCertificate(certificateBytes);
      const encryptedKey = parseEncryptedKey(keyBytes);
      finishStep("read");

      startStep("decrypt");
      // PBKDF2 keeps the main thread busy for a moment: let the page show "En curso" first.
      await nextPaint();
      privateKey = decryptKey(encryptedKey, passwordInput.value);
      finishStep("decrypt");

      startStep("match");
      if (!keyMatchesCertificate(privateKey, certificate)) {
        throw new DeviceProblem("key-mismatch", keyInput);
      }
      finishStep("match");

      startStep("validate");
      // The bytes read and checked above, not the file again: what leaves is what was looked at.
      const certificateForm = new FormData();
      certificateForm.append("certificate", new Blob([certificateBytes]), certificateFile.name);
      const prepared = await post(form.dataset.prepareUrl, certificateForm);
      finishStep("validate");

      startStep("sign");
      await nextPaint();
      const signature = signAttributes(privateKey, prepared.signed_attributes);
      privateKey = null;
      finishStep("sign");

      startStep("seal");
      const completion = new URLSearchParams();
      completion.append("session", prepared.session);
      completion.append("signature", signature);
      const done = await post(form.dataset.completeUrl, completion, { afterSigning: true });
      finishStep("seal");
      signed = true;
      showSigned(done.document_url);
    } catch (problem) {
      failStep();
      explain(problem);
    } finally {
      // Whatever happened, nothing of the key stays in reach of this page.
      privateKey = null;
      if (keyBytes) {
        keyBytes.fill(0);
      }
      passwordInput.value = "";
      setWorking(false, { keepDisabled: signed });
    }
  }

  // --- What the applicant gave -------------------------------------------------------------

  function firstMissingInput() {
    if (certificateInput.files.length === 0) {
      return { messageKey: "certificate-missing", field: certificateInput };
    }
    if (keyInput.files.length === 0) {
      return { messageKey: "key-missing", field: keyInput };
    }
    if (passwordInput.value === "") {
      return { messageKey: "password-missing", field: passwordInput };
    }
    if (!consentInput.checked) {
      return { messageKey: "consent-missing", field: consentInput };
    }
    return null;
  }

  function readFile(file) {
    return new Promise(function (resolve, reject) {
      const reader = new FileReader();
      reader.onload = function () {
        resolve(new Uint8Array(reader.result));
      };
      reader.onerror = function () {
        reject(new DeviceProblem("files-unreadable"));
      };
      reader.readAsArrayBuffer(file);
    });
  }

  // --- Certificate and key -----------------------------------------------------------------

  // forge works on "binary strings": one character per byte.
  function binaryString(bytes) {
    return forge.util.binary.raw.encode(bytes);
  }

  // The DER inside a PEM file, with its label ("CERTIFICATE", "ENCRYPTED PRIVATE KEY"), or the
  // bytes as they are when the file is not PEM (the SAT's files are DER).
  function unarmor(bytes) {
    const text = binaryString(bytes);
    if (text.indexOf("-----BEGIN ") === -1) {
      return { label: null, der: text };
    }
    try {
      const block = forge.pem.decode(text)[0];
      return block ? { label: block.type, der: block.body } : null;
    } catch (error) {
      return null;
    }
  }

  function fromDer(der) {
    try {
      return asn1.fromDer(der);
    } catch (error) {
      return null;
    }
  }

  function isUniversal(node, type) {
    return Boolean(node) && node.tagClass === asn1.Class.UNIVERSAL && node.type === type;
  }

  function isSequence(node, length) {
    return (
      isUniversal(node, asn1.Type.SEQUENCE) &&
      Array.isArray(node.value) &&
      (length === undefined || node.value.length === length)
    );
  }

  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm, signatureValue }
  function looksLikeCertificate(node) {
    return isSequence(node, 3) && isSequence(node.value[0]);
  }

  // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm SEQUENCE, encryptedData OCTET STRING }
  function looksLikeEncryptedKey(node) {
    return (
      isSequence(node, 2) &&
      isSequence(node.value[0]) &&
      isUniversal(node.value[1], asn1.Type.OCTETSTRING)
    );
  }

  // The most common mix-up is choosing the .key as the certificate or the other way round: the
  // two files sit side by side with the same name. Say which file is which.
  function parseCertificate(bytes) {
    const armored = unarmor(bytes);
    if (armored && armored.label && armored.label.indexOf("PRIVATE KEY") !== -1) {
      throw new DeviceProblem("certificate-is-key", certificateInput);
    }
    const node = armored ? fromDer(armored.der) : null;
    if (looksLikeEncryptedKey(node)) {
      throw new DeviceProblem("certificate-is-key", certificateInput);
    }
    if (!looksLikeCertificate(node)) {
      throw new DeviceProblem("certificate-unreadable", certificateInput);
    }
    try {
      // Also refuses what is not RSA: e.firma keys are RSA, and so is the signature we make.
      return forge.pki.certificateFromAsn1(node);
    } catch (error) {
      throw new DeviceProblem("certificate-unreadable", certificateInput);
    }
  }

  function parseEncryptedKey(bytes) {
    const armored = unarmor(bytes);
    if (armored && armored.label && armored.label !== "ENCRYPTED PRIVATE KEY") {
      throw new DeviceProblem(
        armored.label.indexOf("CERTIFICATE") !== -1 ? "key-is-certificate" : "key-unreadable",
        keyInput
      );
    }
    const node = armored ? fromDer(armored.der) : null;
    if (looksLikeCertificate(node)) {
      throw new DeviceProblem("key-is-certificate", keyInput);
    }
    if (!looksLikeEncryptedKey(node)) {
      throw new DeviceProblem("key-unreadable", keyInput);
    }
    return node;
  }

  function decryptKey(encryptedKey, password) {
    let keyInfo;
    try {
      keyInfo = forge.pki.decryptPrivateKeyInfo(encryptedKey, password);
    } catch (error) {
      // forge says "Cannot read ..." when it does not know the encryption scheme, before
      // decrypting anything; any other error comes from reading what a wrong password
      // decrypted into (a padding that happened to look right).
      if (/^Cannot read/.test(error.message)) {
        throw new DeviceProblem("key-unsupported", keyInput);
      }
      keyInfo = null;
    }
    if (!keyInfo) {
      throw new DeviceProblem("wrong-password", passwordInput);
    }
    try {
      return forge.pki.privateKeyFromAsn1(keyInfo);
    } catch (error) {
      throw new DeviceProblem("wrong-password", passwordInput);
    }
  }

  function keyMatchesCertificate(privateKey, certificate) {
    const publicKey = certificate.publicKey;
    return publicKey.n.equals(privateKey.n) && publicKey.e.equals(privateKey.e);
  }

  // The signature value over the DER of the signed attributes, base64 as the portal wants it.
  function signAttributes(privateKey, signedAttributesBase64) {
    const digest = forge.md.sha256.create();
    digest.update(forge.util.decode64(signedAttributesBase64));
    return forge.util.encode64(privateKey.sign(digest));
  }

  // --- The portal ----------------------------------------------------------------------------

  function csrfToken() {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) {
      return input.value;
    }
    const cookie = document.cookie.split("; ").find(function (pair) {
      return pair.indexOf("csrftoken=") === 0;
    });
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }

  async function post(url, body, options) {
    const afterSigning = Boolean(options && options.afterSigning);
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
    } catch (error) {
      throw new DeviceProblem(afterSigning ? "network-after-signing" : "network");
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch (error) {
      // Not JSON: a login page after the session ended, a proxy's error page.
      answer = null;
    }
    if (response.ok && answer !== null) {
      return answer;
    }
    if (answer !== null && typeof answer.message === "string" && answer.message) {
      throw new ServerProblem(answer.error, answer.message);
    }
    throw new DeviceProblem("unexpected");
  }

  // --- What the page shows -------------------------------------------------------------------

  function explain(problem) {
    if (problem instanceof ServerProblem) {
      const parts = [problem.serverMessage];
      if (problem.code === "service_unavailable") {
        parts.push(messages["try-again-later"]);
      }
      if (problem.code === "contract_changed") {
        // The contract on this page is not the current one: nothing was signed, and signing
        // again starts over from the page as it is now.
        parts.push(messages["contract-changed"]);
        showError(parts.join(" "), { reload: true });
        return;
      }
      showError(parts.join(" "));
      return;
    }
    if (problem instanceof DeviceProblem) {
      showError(messages[problem.messageKey]);
      if (problem.field) {
        problem.field.focus();
      }
      return;
    }
    // A bug of ours or of the browser: the applicant still needs a way forward.
    showError(messages.unexpected);
    if (window.console) {
      window.console.error(problem);
    }
  }

  function showError(text, options) {
    clearError();
    const notice = document.createElement("div");
    notice.className = "notice notice--error";
    const paragraph = document.createElement("p");
    const word = document.createElement("strong");
    word.textContent = messages["error-word"] + " ";
    paragraph.appendChild(word);
    paragraph.appendChild(document.createTextNode(text));
    notice.appendChild(paragraph);
    if (options && options.reload) {
      const again = document.createElement("p");
      const link = document.createElement("a");
      link.href = window.location.pathname;
      link.textContent = messages.reload;
      link.dataset.reload = "";
      again.appendChild(link);
      notice.appendChild(again);
    }
    errorArea.appendChild(notice);
  }

  function clearError() {
    errorArea.textContent = "";
  }

  function showSigned(documentUrl) {
    document.getElementById("signing-document-link").href = documentUrl;
    form.hidden = true;
    result.hidden = false;
    document.getElementById("signing-result-title").focus();
  }

  function setWorking(isWorking, options) {
    working = isWorking;
    form.setAttribute("aria-busy", isWorking ? "true" : "false");
    // aria-disabled rather than disabled while working: a disabled button loses the focus.
    if (isWorking || (options && options.keepDisabled)) {
      submitButton.setAttribute("aria-disabled", "true");
    } else {
      submitButton.removeAttribute("aria-disabled");
    }
  }

  function stepElements() {
    return document.querySelectorAll("#signing-steps [data-step]");
  }

  function stepElement(name) {
    return document.querySelector('#signing-steps [data-step="' + name + '"]');
  }

  function setStepState(element, state) {
    element.dataset.state = state;
    element.querySelector(".signing-steps__state").textContent = messages["state-" + state];
  }

  function resetSteps() {
    currentStep = null;
    stepElements().forEach(function (element) {
      setStepState(element, "pending");
    });
  }

  function startStep(name) {
    currentStep = name;
    setStepState(stepElement(name), "active");
    announce(name, "active");
  }

  function finishStep(name) {
    currentStep = null;
    setStepState(stepElement(name), "done");
    announce(name, "done");
  }

  function failStep() {
    if (currentStep !== null) {
      setStepState(stepElement(currentStep), "failed");
      currentStep = null;
    }
  }

  function announce(name, state) {
    const title = stepElement(name).querySelector(".steps__title").textContent.trim();
    statusArea.textContent = title + ": " + messages["state-" + state];
  }

  function nextPaint() {
    return new Promise(function (resolve) {
      window.requestAnimationFrame(function () {
        window.setTimeout(resolve, 0);
      });
    });
  }
})();
